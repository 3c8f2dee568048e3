"""Profiles as enforceable policies: KubeArmor, Kubernetes NetworkPolicy, seccomp, Falco rules."""

from runwatch.profiles.export.base import ExportContext, Exporter
from runwatch.profiles.export.falco import export_falco
from runwatch.profiles.export.kubearmor import export_kubearmor
from runwatch.profiles.export.networkpolicy import export_networkpolicy
from runwatch.profiles.export.seccomp import export_seccomp

EXPORTERS: dict[str, Exporter] = {"kubearmor": export_kubearmor,
                                  "networkpolicy": export_networkpolicy,
                                  "seccomp": export_seccomp, "falco": export_falco}

__all__ = ["EXPORTERS", "ExportContext", "Exporter", "export_falco", "export_kubearmor",
           "export_networkpolicy", "export_seccomp"]
