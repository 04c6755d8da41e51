"""ESET license connector for the ALSO Cloud Marketplace."""
