"""Scanners: what to look for in text (secrets) and in images (packages, known vulnerabilities)."""

from runwatch.scan.secrets import SecretFinding, SecretRuleError, SecretRules, load_secret_rules
from runwatch.scan.image import save_image
from runwatch.scan.report import ScanReport, scan_image
from runwatch.scan.vulns import OsvDatabase, Severity, VulnFinding, load_osv_database

__all__ = ["OsvDatabase", "ScanReport", "SecretFinding", "SecretRuleError", "SecretRules", "Severity",
           "VulnFinding", "load_osv_database", "load_secret_rules", "save_image", "scan_image"]
