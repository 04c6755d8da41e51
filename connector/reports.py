"""The ESET product report: one row per license of a reseller, as JSON, CSV or Excel.

Rows come from the database in batches and are written as they come, so a reseller with many
licenses never sits in memory as a whole; the scheduled report push reuses ``report_rows``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from connector import listing
from connector.domain.pricing import money_text, to_cents
from connector.licenses import state_of
from connector.models import License

Cell = str | int | Decimal | date | None
Row = tuple[Cell, ...]

REPORT_NAME = "ESET product report"
FORMATS = ("json", "csv", "xlsx")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH = 500

# Column name → its value for a license on a given day, in the contract's order.
_CELLS: dict[str, Callable[[License, date], Cell]] = {
    "SubscriptionAccountId": lambda lic, _: lic.subscription_account_id,
    "PublicLicenseKey": lambda lic, _: lic.public_license_key,
    "Product": lambda lic, _: lic.product,
    "ProductName": lambda lic, _: lic.product_name,
    "LicenseType": lambda lic, _: lic.license_type,
    "Seats": lambda lic, _: lic.seats,
    "State": state_of,
    "StartDate": lambda lic, _: lic.start_date,
    "ExpiryDate": lambda lic, _: lic.expiry_date,
    "DaysToExpiry": lambda lic, today: (lic.expiry_date - today).days,
    "CustomerCompany": lambda lic, _: lic.customer_company,
    "CustomerCountry": lambda lic, _: lic.customer_country,
    "LastInvoicePrice": lambda lic, _: _cents(lic.last_invoice_price),
    "Currency": lambda lic, _: lic.currency,
}
COLUMNS: tuple[str, ...] = tuple(_CELLS)
_WIDE = {"ProductName", "CustomerCompany"}


def report_rows(
    session: Session, reseller_account_id: str, today: date
) -> tuple[tuple[str, ...], Iterator[Row]]:
    """Return the report's columns and its rows, read lazily in the order of the license list."""
    query = listing.in_expiry_order(session, listing.of_reseller_query(reseller_account_id))
    # Executed now, so a database failure surfaces before anything is written.
    licenses = session.scalars(query.execution_options(yield_per=BATCH))
    return COLUMNS, (row_of(license, today) for license in licenses)


def row_of(license: License, today: date) -> Row:
    """Return a license's report row, with typed values."""
    return tuple(cell(license, today) for cell in _CELLS.values())


def json_row(row: Row) -> list[str | int | None]:
    """Return a row as JSON values: dates ISO, amounts two-place strings."""
    return [_json_value(value) for value in row]


def write(file_format: str, columns: tuple[str, ...], rows: Iterable[Row], out: IO[bytes]) -> int:
    """Write the report as json, csv or xlsx to a binary stream; return the number of rows."""
    writer = {"json": write_json, "csv": write_csv, "xlsx": write_xlsx}[file_format]
    return writer(columns, rows, out)


def write_json(columns: tuple[str, ...], rows: Iterable[Row], out: IO[bytes]) -> int:
    """Write ``{"columns": [...], "rows": [[...], ...]}``, one row at a time."""
    out.write(b'{"columns":' + _json_bytes(list(columns)) + b',"rows":[')
    count = 0
    for row in rows:
        out.write((b"," if count else b"") + _json_bytes(json_row(row)))
        count += 1
    out.write(b"]}")
    return count


def write_csv(columns: tuple[str, ...], rows: Iterable[Row], out: IO[bytes]) -> int:
    """Write UTF-8 CSV with a header row; empty values stay empty."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow("" if value is None else value for value in json_row(row))
        count += 1
    text.flush()
    text.detach()  # the caller owns ``out``; closing the wrapper would close it
    return count


def write_xlsx(columns: tuple[str, ...], rows: Iterable[Row], out: IO[bytes]) -> int:
    """Write an Excel workbook with one sheet, its cells typed: numbers, dates, amounts."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(REPORT_NAME)
    _lay_out(sheet, columns)
    sheet.append([_text_cell(sheet, name) for name in columns])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    workbook.save(out)
    return count


def _lay_out(sheet: Any, columns: tuple[str, ...]) -> None:
    # Write-only sheets take their layout before the first row.
    sheet.freeze_panes = "A2"
    for index, name in enumerate(columns, start=1):
        width = 32 if name in _WIDE else max(12, len(name) + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width


def _cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else to_cents(amount)


def _json_value(value: Cell) -> str | int | None:
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _xlsx_cell(sheet: Any, value: Cell) -> Any:
    if isinstance(value, str):
        return _text_cell(sheet, value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell.number_format = "0.00"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    return cell


def _text_cell(sheet: Any, value: str) -> Any:
    # Excel cannot hold control characters; data synced from ESET might carry some.
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    # openpyxl reads a leading "=" as a formula; a customer named "=HYPERLINK(...)" stays text.
    cell.data_type = "s"
    return cell
