"""Vulnerabilities: OSV advisories loaded from a directory and matched to an image's packages."""

from runwatch.scan.vulns.detect import Detection, VulnFinding, detect_vulnerabilities, os_ecosystems
from runwatch.scan.vulns.osv import (OsvAffected, OsvDatabase, OsvRecord, database_from_records,
                                     decode_osv_record, load_osv_database)
from runwatch.scan.vulns.severity import Severity
from runwatch.scan.vulns.versions import VERSION_SCHEMES, VersionError, version_parser

__all__ = ["VERSION_SCHEMES", "Detection", "OsvAffected", "OsvDatabase", "OsvRecord", "Severity",
           "VersionError", "VulnFinding", "database_from_records", "decode_osv_record",
           "detect_vulnerabilities", "load_osv_database", "os_ecosystems", "version_parser"]
