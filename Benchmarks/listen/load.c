/*
 * load: a bounded closed-loop HTTP/1.1 load for the listener benchmark.
 *
 * Sends every request of FILE exactly once over CONNECTIONS keep-alive connections to
 * 127.0.0.1:PORT, each connection sending its next request when the previous answer has
 * arrived (the next line of the file, in order). Every answer must be `200` with the body
 * `success`. The clock runs from the first byte sent (all connections are open before)
 * until the last answer has been read.
 *
 * FILE: one request per line, TARGET<TAB>BODY (gen_pushes.py); sent as
 *   POST TARGET HTTP/1.1 / Host / Content-Type: text/xml / Content-Length / BODY.
 *
 * Prints one JSON line: requests, ok, bad, first_bad, seconds, per_second, latency
 * percentiles (ms), client_cpu_seconds, and the rate in each tenth of the answers
 * (tenths_per_second, in order). Exit 0 only if every answer was `200 success`.
 *
 * Build: cc -O2 -o load load.c
 * Usage: load PORT FILE [CONNECTIONS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *data;
    size_t length;
} request;

typedef struct {
    int fd;
    long current;        /* index of the request in flight, -1 when idle */
    size_t written;      /* bytes of the current request sent */
    char *in;            /* the answer read so far */
    size_t in_length, in_capacity;
    double started;      /* when the current request's first byte went out */
} connection;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static request *requests;
static long count;
static long next_request;
static long answered, ok, bad;
static char first_bad[256];
static double *latencies;
static double *finished;     /* when each answer arrived, seconds since the clock started */
static double clock_start;
static int epoll_fd;

static void load_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) die(path);
    struct stat st;
    if (fstat(fileno(file), &st) != 0) die("fstat");
    char *text = malloc((size_t)st.st_size + 1);
    if (!text || fread(text, 1, (size_t)st.st_size, file) != (size_t)st.st_size) die("read");
    text[st.st_size] = 0;
    fclose(file);
    long lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    requests = calloc((size_t)lines + 1, sizeof(request));
    char *line = text;
    while (*line) {
        char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        char *tab = memchr(line, '\t', (size_t)(end - line));
        if (!tab) { fprintf(stderr, "load: line %ld has no tab\n", count + 1); exit(2); }
        size_t target_length = (size_t)(tab - line), body_length = (size_t)(end - tab - 1);
        size_t capacity = target_length + body_length + 256;
        char *data = malloc(capacity);
        int header = snprintf(data, capacity,
            "POST %.*s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/4.0\r\nAccept: */*\r\n"
            "Content-Type: text/xml\r\nContent-Length: %zu\r\n\r\n",
            (int)target_length, line, body_length);
        memcpy(data + header, tab + 1, body_length);
        requests[count].data = data;
        requests[count].length = (size_t)header + body_length;
        count++;
        line = *end ? end + 1 : end;
    }
    free(text);
}

static void want(connection *c, uint32_t events) {
    struct epoll_event event = {.events = events, .data.ptr = c};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) != 0) die("epoll_ctl");
}

/* Sends as much of the current request as the socket takes. */
static void send_some(connection *c) {
    request *r = &requests[c->current];
    while (c->written < r->length) {
        ssize_t n = send(c->fd, r->data + c->written, r->length - c->written, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) { want(c, EPOLLIN | EPOLLOUT); return; }
            die("send");
        }
        c->written += (size_t)n;
    }
    want(c, EPOLLIN);
}

static void start_next(connection *c) {
    if (next_request >= count) { c->current = -1; want(c, EPOLLIN); return; }
    c->current = next_request++;
    c->written = 0;
    c->in_length = 0;
    c->started = now_seconds();
    send_some(c);
}

/* One whole answer in c->in? Returns its length, 0 if incomplete. */
static size_t complete_answer(connection *c, int *status, const char **body, size_t *body_length) {
    char *head_end = memmem(c->in, c->in_length, "\r\n\r\n", 4);
    if (!head_end) return 0;
    size_t head_length = (size_t)(head_end - c->in) + 4;
    if (c->in_length < 12 || strncmp(c->in, "HTTP/1.1 ", 9) != 0) {
        fprintf(stderr, "load: not an HTTP/1.1 answer: %.60s\n", c->in);
        exit(2);
    }
    *status = atoi(c->in + 9);
    long length = -1;
    for (char *p = c->in; p < head_end; ) {
        char *eol = memmem(p, (size_t)(head_end - p) + 2, "\r\n", 2);
        if (!eol) break;
        if (eol - p > 15 && strncasecmp(p, "content-length:", 15) == 0) length = atol(p + 15);
        if (eol - p > 18 && strncasecmp(p, "transfer-encoding:", 18) == 0) {
            fprintf(stderr, "load: chunked answers are not supported\n");
            exit(2);
        }
        p = eol + 2;
    }
    if (length < 0) { fprintf(stderr, "load: an answer without Content-Length\n"); exit(2); }
    if (c->in_length < head_length + (size_t)length) return 0;
    *body = c->in + head_length;
    *body_length = (size_t)length;
    return head_length + (size_t)length;
}

static void read_some(connection *c) {
    for (;;) {
        if (c->in_capacity - c->in_length < 4096) {
            c->in_capacity = c->in_capacity * 2 + 8192;
            c->in = realloc(c->in, c->in_capacity);
            if (!c->in) die("realloc");
        }
        ssize_t n = recv(c->fd, c->in + c->in_length, c->in_capacity - c->in_length, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            die("recv");
        }
        if (n == 0) {
            fprintf(stderr, "load: the server closed a connection (request %ld in flight)\n", c->current);
            exit(2);
        }
        c->in_length += (size_t)n;
        int status;
        const char *body;
        size_t body_length;
        size_t used = complete_answer(c, &status, &body, &body_length);
        if (!used) continue;
        if (c->current < 0) { fprintf(stderr, "load: an answer nobody asked for\n"); exit(2); }
        double now = now_seconds();
        finished[answered] = now - clock_start;
        latencies[answered++] = now - c->started;
        if (status == 200 && body_length == 7 && memcmp(body, "success", 7) == 0) {
            ok++;
        } else {
            if (!bad) snprintf(first_bad, sizeof first_bad, "request %ld: %d %.*s", c->current + 1, status,
                               (int)(body_length > 120 ? 120 : body_length), body);
            bad++;
        }
        if (used != c->in_length) { fprintf(stderr, "load: bytes after an answer\n"); exit(2); }
        start_next(c);
        return;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: load PORT FILE [CONNECTIONS]\n"); return 2; }
    int port = atoi(argv[1]);
    int connections = argc > 3 ? atoi(argv[3]) : 16;
    load_file(argv[2]);
    if (count < connections) { fprintf(stderr, "load: fewer requests than connections\n"); return 2; }
    latencies = calloc((size_t)count, sizeof(double));
    finished = calloc((size_t)count, sizeof(double));

    epoll_fd = epoll_create1(0);
    if (epoll_fd < 0) die("epoll_create1");
    connection *cs = calloc((size_t)connections, sizeof(connection));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < connections; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
        cs[i].fd = fd;
        cs[i].current = -1;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) die("epoll_ctl");
    }

    struct rusage usage_before, usage_after;
    getrusage(RUSAGE_SELF, &usage_before);
    double started = now_seconds();
    clock_start = started;
    for (int i = 0; i < connections; i++) start_next(&cs[i]);
    struct epoll_event events[64];
    while (answered < count) {
        int n = epoll_wait(epoll_fd, events, 64, 30000);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        if (n == 0) { fprintf(stderr, "load: no answer for 30 s (%ld of %ld answered)\n", answered, count); return 2; }
        for (int i = 0; i < n; i++) {
            connection *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT && c->current >= 0 && c->written < requests[c->current].length) send_some(c);
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some(c);
        }
    }
    double seconds = now_seconds() - started;
    getrusage(RUSAGE_SELF, &usage_after);
    double cpu = (usage_after.ru_utime.tv_sec - usage_before.ru_utime.tv_sec)
        + (usage_after.ru_utime.tv_usec - usage_before.ru_utime.tv_usec) / 1e6
        + (usage_after.ru_stime.tv_sec - usage_before.ru_stime.tv_sec)
        + (usage_after.ru_stime.tv_usec - usage_before.ru_stime.tv_usec) / 1e6;
    for (int i = 0; i < connections; i++) close(cs[i].fd);

    qsort(latencies, (size_t)answered, sizeof(double), compare_doubles);
#define PCT(p) (latencies[(size_t)((p) * (answered - 1) + 0.5)] * 1000)
    printf("{\"requests\": %ld, \"connections\": %d, \"ok\": %ld, \"bad\": %ld, \"first_bad\": \"", count, connections, ok, bad);
    for (char *p = first_bad; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        putchar((unsigned char)*p < 0x20 ? '?' : *p);
    }
    printf("\", \"seconds\": %.6f, \"per_second\": %.1f, \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
           "\"client_cpu_seconds\": %.3f, \"tenths_per_second\": [",
           seconds, count / seconds, PCT(0.5), PCT(0.9), PCT(0.99), latencies[answered - 1] * 1000, cpu);
    /* The rate in each tenth of the answers, in order: shows a warm-up or a slowdown. */
    for (int tenth = 0; tenth < 10; tenth++) {
        long first = count * tenth / 10, last = count * (tenth + 1) / 10 - 1;
        double from = first > 0 ? finished[first - 1] : 0, to = finished[last];
        printf("%s%.1f", tenth ? ", " : "", to > from ? (last - first + 1) / (to - from) : 0.0);
    }
    printf("]}\n");
    return bad ? 1 : 0;
}
