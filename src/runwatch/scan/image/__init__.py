"""Image contents: read a rootfs or saved image, and find its OS and packages with analyzers."""

from runwatch.scan.image.analysis import ImageAnalysis, analyze_image
from runwatch.scan.image.apk import ApkAnalyzer
from runwatch.scan.image.base import Analysis, Analyzer, OSRelease, Package, PackageType
from runwatch.scan.image.contents import ImageContents, read_image_contents
from runwatch.scan.image.dpkg import DpkgAnalyzer
from runwatch.scan.image.os_release import OSReleaseAnalyzer
from runwatch.scan.image.podman import save_image
from runwatch.scan.image.python import PythonAnalyzer

ANALYZERS: dict[str, Analyzer] = {
    "os-release": OSReleaseAnalyzer(),
    "dpkg": DpkgAnalyzer(),
    "apk": ApkAnalyzer(),
    "python": PythonAnalyzer(),
}

__all__ = ["ANALYZERS", "Analysis", "Analyzer", "ApkAnalyzer", "DpkgAnalyzer", "ImageAnalysis",
           "ImageContents", "OSRelease", "OSReleaseAnalyzer", "Package", "PackageType",
           "PythonAnalyzer", "analyze_image", "read_image_contents", "save_image"]
