/*
 * The syscall-heavy workloads of bench/sensor_overhead.py, in C so that the timing measures the
 * kernel's cost and not an interpreter's.
 *
 *   sensor_workload opens N DIR        N x (open O_RDONLY, read 4 KiB, close) cycling over
 *                                      DIR/0 .. DIR/63 (ordinary files); prints seconds
 *   sensor_workload openclose N FILE   N x (open O_RDONLY, close): the bare worst case
 *   sensor_workload mixed SECONDS DIR  for SECONDS: write-opens, fork+exec /bin/true and TCP
 *                                      connects to a loopback listener; prints op counts
 *   sensor_workload paced RATE SECONDS DIR
 *                                      RATE write-opens per second (events that reach user
 *                                      space), paced every millisecond; prints the count
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int opens(long n, const char *dir) {
    char paths[64][512], buffer[4096];
    for (int i = 0; i < 64; i++) snprintf(paths[i], sizeof paths[i], "%s/%d", dir, i);
    double start = now();
    for (long i = 0; i < n; i++) {
        int fd = open(paths[i & 63], O_RDONLY);
        if (fd < 0) { perror("open"); return 1; }
        if (read(fd, buffer, sizeof buffer) < 0) { perror("read"); return 1; }
        close(fd);
    }
    printf("%.6f\n", now() - start);
    return 0;
}

static int openclose(long n, const char *path) {
    double start = now();
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) { perror("open"); return 1; }
        close(fd);
    }
    printf("%.6f\n", now() - start);
    return 0;
}

static int write_open(const char *dir, long i) {
    char path[512];
    snprintf(path, sizeof path, "%s/w%ld", dir, i & 255);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) { perror("open"); return 1; }
    close(fd);
    return 0;
}

static int mixed(double seconds, const char *dir) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 1024) ||
        getsockname(listener, (struct sockaddr *)&address, &length)) { perror("listen"); return 1; }
    long opened = 0, execs = 0, connects = 0;
    double start = now();
    while (now() - start < seconds) {
        for (int i = 0; i < 100; i++) if (write_open(dir, opened++)) return 1;
        for (int i = 0; i < 10; i++) {
            int client = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(client, (struct sockaddr *)&address, sizeof address)) { perror("connect"); return 1; }
            int accepted = accept(listener, NULL, NULL);
            close(accepted);
            close(client);
            connects++;
        }
        pid_t child = fork();
        if (child == 0) { execl("/bin/true", "true", (char *)NULL); _exit(127); }
        waitpid(child, NULL, 0);
        execs++;
    }
    printf("%ld %ld %ld %.6f\n", opened, execs, connects, now() - start);
    return 0;
}

static int paced(long rate, double seconds, const char *dir) {
    long done = 0;
    double start = now();
    while (now() - start < seconds) {
        long due = (long)((now() - start) * (double)rate);
        while (done < due) if (write_open(dir, done++)) return 1;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    printf("%ld %.6f\n", done, now() - start);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "opens") == 0) return opens(atol(argv[2]), argv[3]);
    if (argc >= 4 && strcmp(argv[1], "openclose") == 0) return openclose(atol(argv[2]), argv[3]);
    if (argc >= 4 && strcmp(argv[1], "mixed") == 0) return mixed(atof(argv[2]), argv[3]);
    if (argc >= 5 && strcmp(argv[1], "paced") == 0)
        return paced(atol(argv[2]), atof(argv[3]), argv[4]);
    fprintf(stderr, "usage: see the comment at the top of sensor_workload.c\n");
    return 2;
}
