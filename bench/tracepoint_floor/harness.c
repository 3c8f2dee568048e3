/*
 * Times an open+read+close loop with each program of probes.bpf.o attached and detached in turn,
 * in paired rounds, in one process: attaching takes milliseconds here, so on and off runs sit
 * next to each other in time and a host's drift cancels out of their ratio.
 *
 *   harness OBJECT ROUNDS OPENS DIR PROGRAM...
 *
 * Prints, per program, "NAME ratio MEDIAN MIN MAX" (paired ratios of on to off) or
 * "NAME refused LOAD|ATTACH: REASON" when the kernel will not take it.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 1000

static char paths[64][512];
static char buffer[4096];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double open_loop(long n)
{
    double start = now();
    for (long i = 0; i < n; i++) {
        int fd = open(paths[i & 63], O_RDONLY);
        if (fd < 0 || read(fd, buffer, sizeof buffer) < 0) {
            perror("open/read");
            exit(1);
        }
        close(fd);
    }
    return now() - start;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int silent(enum libbpf_print_level level, const char *format, va_list args)
{
    return 0;
}

/* The program alone loaded (the others stay out, so one refused hook does not hide the rest). */
static struct bpf_program *load_alone(const char *object, const char *name, int *error)
{
    struct bpf_object *obj = bpf_object__open_file(object, NULL);
    struct bpf_program *prog;
    if (!obj) {
        *error = errno;
        return NULL;
    }
    bpf_object__for_each_program(prog, obj)
        bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), name) == 0);
    *error = -bpf_object__load(obj);
    return *error ? NULL : bpf_object__find_program_by_name(obj, name);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s OBJECT ROUNDS OPENS DIR PROGRAM...\n", argv[0]);
        return 2;
    }
    const char *object = argv[1];
    int rounds = atoi(argv[2]);
    long opens = atol(argv[3]);
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "ROUNDS must be 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    for (int i = 0; i < 64; i++)
        snprintf(paths[i], sizeof paths[i], "%s/%d", argv[4], i);
    libbpf_set_print(silent);
    open_loop(opens); /* warm the page cache */

    for (int p = 5; p < argc; p++) {
        int error = 0;
        struct bpf_program *prog = load_alone(object, argv[p], &error);
        if (!prog) {
            printf("%s refused load: %s\n", argv[p], strerror(error));
            continue;
        }
        static double ratios[MAX_ROUNDS];
        int attached = 1;
        for (int r = 0; r < rounds; r++) {
            /* Off then on in even rounds, on then off in odd ones: neither is always second. */
            double off = r % 2 ? 0 : open_loop(opens);
            struct bpf_link *link = bpf_program__attach(prog);
            if (!link) {
                printf("%s refused attach: %s\n", argv[p], strerror(errno));
                attached = 0;
                break;
            }
            double on = open_loop(opens);
            bpf_link__destroy(link);
            if (r % 2)
                off = open_loop(opens);
            ratios[r] = on / off;
        }
        if (!attached)
            continue;
        qsort(ratios, rounds, sizeof ratios[0], by_value);
        printf("%s ratio %.4f %.4f %.4f\n", argv[p], ratios[rounds / 2], ratios[0],
               ratios[rounds - 1]);
        fflush(stdout);
    }
    return 0;
}
