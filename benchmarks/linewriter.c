/* Appends lines to a log at a steady rate, for benchmarks/idle.sh.
 * Usage: linewriter TEMPLATE OUT LINES_PER_SECOND SECONDS
 * Cycles through TEMPLATE's lines, writing every 10 ms the lines due by then, so the rate is smooth and the
 * writer's own CPU stays tiny and apart from streamtop's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: linewriter TEMPLATE OUT LINES_PER_SECOND SECONDS\n"); return 2; }
    FILE *t = fopen(argv[1], "rb");
    if (!t) { perror(argv[1]); return 1; }
    fseek(t, 0, SEEK_END); long size = ftell(t); fseek(t, 0, SEEK_SET);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, t) != (size_t)size) { perror("read"); return 1; }
    fclose(t);
    int out = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (out < 0) { perror(argv[2]); return 1; }
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    double start = now();
    long written = 0, pos = 0;
    char *buf = malloc(1 << 22);
    while (now() - start < seconds) {
        long due = (long)((now() - start) * rate);
        size_t n = 0;
        while (written < due && n < (1 << 22) - 70000) {
            char *nl = memchr(text + pos, '\n', size - pos);
            if (!nl) { pos = 0; continue; }
            long len = nl - (text + pos) + 1;
            memcpy(buf + n, text + pos, len);
            n += len; pos += len; written++;
            if (pos >= size) pos = 0;
        }
        if (n && write(out, buf, n) != (ssize_t)n) { perror("write"); return 1; }
        usleep(10000);
    }
    printf("%ld\n", written);
    return 0;
}
