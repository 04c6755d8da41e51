"""The ESET product report over HTTP (JSON, CSV, Excel) and from the command line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from werkzeug.test import TestResponse

from connector import cli, reports
from connector.domain.manifest import REPORT_COLUMNS
from connector.runtime import Runtime
from tests import factories as make
from tests.support import START

Get = Callable[[str], TestResponse]

A = "4711"
B = "4812"
REPORT_A = f"/api/v1/resellers/{A}/report"
CONTRACT_COLUMNS = [
    "SubscriptionAccountId",
    "PublicLicenseKey",
    "Product",
    "ProductName",
    "LicenseType",
    "Seats",
    "State",
    "StartDate",
    "ExpiryDate",
    "DaysToExpiry",
    "CustomerCompany",
    "CustomerCountry",
    "LastInvoicePrice",
    "Currency",
]


@pytest.fixture
def licenses(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        make.add(
            session,
            make.reseller(A),
            make.reseller(B),
            make.license(A, "99001", expires_in_days=30, customer_company="Müller & Söhne KG"),
            make.license(
                A,
                "99002",
                expires_in_days=-100,
                cancelled_at=START,
                public_license_key=None,
                last_invoice_price=None,
                currency=None,
            ),
            make.license(
                A,
                "99003",
                expires_in_days=400,
                product="PROTECT_ENTRY",
                product_name="ESET PROTECT Entry",
                license_type="TRIAL",
                seats=5,
                last_invoice_price=Decimal("0"),
                customer_company='=HYPERLINK("http://evil.example")',
            ),
            make.license(B, "88001", expires_in_days=10),
        )


def test_the_report_columns_are_the_contracts_and_the_manifests(runtime: Runtime) -> None:
    manifest_columns = [column.name for column in runtime.manifest.report.columns]
    assert list(reports.COLUMNS) == list(REPORT_COLUMNS) == manifest_columns == CONTRACT_COLUMNS


def test_the_json_report_holds_every_license_of_the_reseller_typed_as_json(
    get_signed: Get, licenses: None
) -> None:
    response = get_signed(f"{REPORT_A}?format=json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {
        "columns": CONTRACT_COLUMNS,
        "rows": [
            [
                "99002", None, "PROTECT_ADVANCED", "ESET PROTECT Advanced", "FULL", 25,
                "Cancelled", "2025-08-19", "2026-08-19", -100, "Customer of 99002 AG", "DE",
                None, None,
            ],
            [
                "99001", "PLK-99001", "PROTECT_ADVANCED", "ESET PROTECT Advanced", "FULL", 25,
                "Active", "2025-12-27", "2026-12-27", 30, "Müller & Söhne KG", "DE",
                "998.40", "EUR",
            ],
            [
                "99003", "PLK-99003", "PROTECT_ENTRY", "ESET PROTECT Entry", "TRIAL", 5,
                "Active", "2027-01-01", "2028-01-01", 400, '=HYPERLINK("http://evil.example")',
                "DE", "0.00", "EUR",
            ],
        ],
    }  # fmt: skip


def test_json_is_the_default_format(get_signed: Get, licenses: None) -> None:
    assert get_signed(REPORT_A).json == get_signed(f"{REPORT_A}?format=json").json


def test_the_csv_report_is_utf8_with_a_header_row(get_signed: Get, licenses: None) -> None:
    response = get_signed(f"{REPORT_A}?format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="eset-product-report-{A}-2026-11-27.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"), newline="")))
    assert rows[0] == CONTRACT_COLUMNS
    assert [row[0] for row in rows[1:]] == ["99002", "99001", "99003"]
    cancelled, active, _ = (dict(zip(CONTRACT_COLUMNS, row, strict=True)) for row in rows[1:])
    assert active["CustomerCompany"] == "Müller & Söhne KG"
    assert (active["Seats"], active["ExpiryDate"], active["DaysToExpiry"]) == (
        "25",
        "2026-12-27",
        "30",
    )
    assert active["LastInvoicePrice"] == "998.40"
    assert (cancelled["State"], cancelled["PublicLicenseKey"], cancelled["Currency"]) == (
        "Cancelled",
        "",
        "",
    )


def read_xlsx(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def test_the_excel_report_has_one_named_sheet_with_typed_cells(
    get_signed: Get, licenses: None
) -> None:
    response = get_signed(f"{REPORT_A}?format=xlsx")
    assert response.status_code == 200
    assert response.mimetype == reports.MEDIA_TYPES["xlsx"]
    assert response.headers["Content-Disposition"].endswith('-2026-11-27.xlsx"')
    workbook = read_xlsx(response.get_data())
    assert workbook.sheetnames == ["ESET product report"]
    sheet = workbook["ESET product report"]
    assert sheet.freeze_panes == "A2"
    header, *rows = sheet.iter_rows()
    assert [cell.value for cell in header] == CONTRACT_COLUMNS
    assert [row[0].value for row in rows] == ["99002", "99001", "99003"]
    active = dict(zip(CONTRACT_COLUMNS, rows[1], strict=True))
    assert active["Seats"].value == 25
    assert active["DaysToExpiry"].value == 30
    assert active["StartDate"].value == datetime(2025, 12, 27)
    assert active["StartDate"].is_date and active["StartDate"].number_format == "yyyy-mm-dd"
    assert active["ExpiryDate"].value == datetime(2026, 12, 27)
    assert active["LastInvoicePrice"].value == pytest.approx(998.40)
    assert active["LastInvoicePrice"].data_type == "n"
    assert active["LastInvoicePrice"].number_format == "0.00"
    cancelled = dict(zip(CONTRACT_COLUMNS, rows[0], strict=True))
    assert cancelled["DaysToExpiry"].value == -100
    assert cancelled["LastInvoicePrice"].value is None


def test_text_that_looks_like_a_formula_stays_text_in_excel(
    get_signed: Get, licenses: None
) -> None:
    sheet = read_xlsx(get_signed(f"{REPORT_A}?format=xlsx").get_data())["ESET product report"]
    company = sheet.cell(row=4, column=CONTRACT_COLUMNS.index("CustomerCompany") + 1)
    assert company.value == '=HYPERLINK("http://evil.example")'
    assert company.data_type == "s"


@pytest.mark.parametrize("file_format", ["pdf", "XLSX", ""])
def test_an_unknown_format_is_a_malformed_request(
    get_signed: Get, licenses: None, file_format: str
) -> None:
    response = get_signed(f"{REPORT_A}?format={file_format}")
    assert response.status_code == 400
    assert json.loads(response.get_data())["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("file_format", ["json", "csv", "xlsx"])
def test_a_report_holds_only_the_resellers_own_licenses(
    get_signed: Get, licenses: None, file_format: str
) -> None:
    response = get_signed(f"/api/v1/resellers/{B}/report?format={file_format}")
    assert response.status_code == 200
    assert first_column(file_format, response.get_data()) == ["88001"]


def first_column(file_format: str, data: bytes) -> list[str]:
    if file_format == "json":
        return [row[0] for row in json.loads(data)["rows"]]
    if file_format == "csv":
        return [row[0] for row in csv.reader(io.StringIO(data.decode()))][1:]
    sheet = read_xlsx(data)["ESET product report"]
    return [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_a_reseller_without_licenses_gets_a_report_with_only_the_header(
    get_signed: Get,
) -> None:
    response = get_signed("/api/v1/resellers/0000/report?format=csv")
    assert response.get_data().decode().splitlines() == [",".join(CONTRACT_COLUMNS)]


def test_the_command_line_writes_the_excel_report(
    licenses: None,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
    target = tmp_path / "report.xlsx"
    assert cli.main(["report", "--reseller", A, "--format", "xlsx", "-o", str(target)]) == 0
    sheet = read_xlsx(target.read_bytes())["ESET product report"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == CONTRACT_COLUMNS
    assert [row[0] for row in rows[1:]] == ["99002", "99001", "99003"]
    assert list(tmp_path.iterdir()) == [target]


def test_the_command_line_writes_csv_when_asked(
    licenses: None,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
    target = tmp_path / "report.csv"
    assert cli.main(["report", "--reseller", B, "--format", "csv", "-o", str(target)]) == 0
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == CONTRACT_COLUMNS
    assert [row[0] for row in rows[1:]] == ["88001"]


def test_report_rows_are_typed_for_the_scheduled_push(runtime: Runtime, licenses: None) -> None:
    with runtime.sessions() as session:
        columns, rows = reports.report_rows(session, A, START.date() + timedelta(days=1))
        active = dict(zip(columns, list(rows)[1], strict=True))
    assert active["LastInvoicePrice"] == Decimal("998.40")
    assert active["DaysToExpiry"] == 29
    assert active["State"] == "Active"
