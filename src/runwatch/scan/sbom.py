"""A CycloneDX 1.5 SBOM (JSON) of an image's packages, through cyclonedx-python-lib.

The image is the BOM's subject (type container), its distribution one operating-system
component, every package a library with its package URL (purl-spec: pkg:deb/debian/bash@5.2.15-2
%2Bb13?arch=amd64&distro=bookworm, pkg:pypi/requests@2.31.0). Source package and the file a
package was read from are properties, named `runwatch:*` as CycloneDX asks of tool-specific ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL

from runwatch import __version__
from runwatch.scan.image.base import OSRelease, Package


def package_url(package: Package, os: OSRelease | None) -> PackageURL:
    """The package URL of an installed package (namespace and distro from the OS for OS packages)."""
    if package.type == "pypi":
        return PackageURL(type="pypi", name=package.name, version=package.version)
    qualifiers: dict[str, str] = {}
    if package.arch:
        qualifiers["arch"] = package.arch
    if os is not None and (os.version_codename or os.version_id):
        qualifiers["distro"] = os.version_codename or os.version_id or ""
    namespace = os.id if os is not None else None
    return PackageURL(type=package.type, namespace=namespace, name=package.name,
                      version=package.version, qualifiers=qualifiers)


def build_sbom(image_name: str, image_id: str | None, os: OSRelease | None,
               packages: Iterable[Package]) -> str:
    """The SBOM as CycloneDX 1.5 JSON text."""
    bom = Bom()
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="runwatch",
                                                version=__version__))
    subject = Component(type=ComponentType.CONTAINER, name=image_name, bom_ref="image",
                        version=image_id)
    bom.metadata.component = subject
    members: list[Component] = []
    if os is not None:
        members.append(Component(type=ComponentType.OPERATING_SYSTEM, name=os.id, bom_ref="os",
                                 version=os.version_id, description=os.pretty_name))
    seen: dict[str, int] = {}
    for package in packages:
        purl = package_url(package, os)
        ref = purl.to_string()
        seen[ref] = seen.get(ref, 0) + 1
        if seen[ref] > 1:  # the same distribution installed twice (two virtualenvs)
            ref = f"{ref}#{seen[ref]}"
        properties = [Property(name="runwatch:path", value=package.path)]
        if package.type != "pypi":
            properties += [Property(name="runwatch:source_name", value=package.source_name),
                           Property(name="runwatch:source_version", value=package.source_version)]
        members.append(Component(type=ComponentType.LIBRARY, name=package.name,
                                 version=package.version, purl=purl, bom_ref=ref,
                                 properties=properties))
    for member in members:
        bom.components.add(member)
    bom.register_dependency(subject, members)
    return JsonV1Dot5(bom).output_as_string(indent=2)
