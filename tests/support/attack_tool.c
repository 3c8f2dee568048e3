/*
 * attack-tool: the syscalls of real attacks that busybox cannot make, for runwatch's tests.
 * Built static, so it runs inside the busybox test image as well as on the host.
 *
 *   attack-tool memfd-exec PROGRAM [ARG...]   copy PROGRAM into a memfd and execute it from there
 *   attack-tool ptrace-attach PID             PTRACE_ATTACH to PID, then detach
 *   attack-tool ptrace-traceme                PTRACE_TRACEME (the anti-debug trick)
 *   attack-tool packet-socket                 open an AF_PACKET raw socket
 *   attack-tool userfaultfd                   create a userfaultfd
 *   attack-tool udp-socket                    open an ordinary UDP socket (the benign twin)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int memfd_exec(int argc, char **argv) {
    if (argc < 3) return 2;
    int in = open(argv[2], O_RDONLY);
    if (in < 0) { perror("open"); return 1; }
    int fd = memfd_create("payload", MFD_CLOEXEC);
    if (fd < 0) { perror("memfd_create"); return 1; }
    char buffer[65536];
    ssize_t n;
    while ((n = read(in, buffer, sizeof buffer)) > 0) {
        if (write(fd, buffer, (size_t)n) != n) { perror("write"); return 1; }
    }
    close(in);
    fexecve(fd, argv + 2, environ);
    perror("fexecve");
    return 1;
}

static int ptrace_attach(int argc, char **argv) {
    if (argc < 3) return 2;
    pid_t pid = (pid_t)atoi(argv[2]);
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) { perror("ptrace"); return 1; }
    waitpid(pid, NULL, 0);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (strcmp(argv[1], "memfd-exec") == 0) return memfd_exec(argc, argv);
    if (strcmp(argv[1], "ptrace-attach") == 0) return ptrace_attach(argc, argv);
    if (strcmp(argv[1], "ptrace-traceme") == 0)
        return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : 1;
    if (strcmp(argv[1], "packet-socket") == 0) {
        int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        if (fd < 0) { perror("socket"); return 1; }
        close(fd);
        return 0;
    }
    if (strcmp(argv[1], "udp-socket") == 0) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) { perror("socket"); return 1; }
        close(fd);
        return 0;
    }
    if (strcmp(argv[1], "userfaultfd") == 0) {
        long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
        return fd < 0 ? 1 : 0;
    }
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
