"""Log sources: files runwatch follows (auditd, Kubernetes audit, syslog) and the events they become."""
