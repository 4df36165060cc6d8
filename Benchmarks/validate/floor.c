/*
 * floor: the LibYAML floor for the validate benchmark.
 *
 * Reads each file named on the command line (or, with -l LIST, each path listed one per
 * line in LIST), parses it with libyaml's yaml_parser_parse to the end of its event
 * stream, deleting every event, and counts the events. Nothing else: no tree, no
 * schema, no checks. This is the least any YAML validator has to do per file.
 *
 * Exit status: 0 when every file parsed; 1 on a parse error (the file, line and column
 * are printed); 2 on a usage or I/O error.
 *
 * Build: cc -O2 floor.c -lyaml -o out/floor
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static unsigned char *buf;
static size_t cap;

/* Read a whole file into the shared buffer; returns its length, or -1 on error. */
static long read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            buf = realloc(buf, cap);
            if (!buf) {
                fprintf(stderr, "floor: out of memory\n");
                exit(2);
            }
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "floor: %s: read error\n", path);
        return -1;
    }
    return (long)len;
}

/* Parse one file to YAML_STREAM_END_EVENT. Returns the event count, or -1. */
static long parse_file(const char *path) {
    long len = read_file(path);
    if (len < 0) return -2;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fprintf(stderr, "floor: cannot initialise the parser\n");
        exit(2);
    }
    yaml_parser_set_input_string(&parser, buf, (size_t)len);
    long events = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            fprintf(stderr, "floor: %s:%zu:%zu: parse error: %s%s%s\n", path,
                    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "unknown",
                    parser.context ? " " : "", parser.context ? parser.context : "");
            yaml_parser_delete(&parser);
            return -1;
        }
        events++;
        int done = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
        if (done) break;
    }
    yaml_parser_delete(&parser);
    return events;
}

static int usage(void) {
    fprintf(stderr, "usage: floor [-q] FILE... | floor [-q] -l LIST\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *list = NULL;
    int quiet = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) list = argv[++i];
        else if (strcmp(argv[i], "-q") == 0) quiet = 1;
        else if (strcmp(argv[i], "--") == 0) { i++; break; }
        else return usage();
    }
    if (!list && i >= argc) return usage();

    long files = 0, events = 0;
    int status = 0;
    if (list) {
        FILE *lf = fopen(list, "r");
        if (!lf) {
            fprintf(stderr, "floor: %s: %s\n", list, strerror(errno));
            return 2;
        }
        char *line = NULL;
        size_t lcap = 0;
        ssize_t n;
        while ((n = getline(&line, &lcap, lf)) != -1) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
            if (n == 0) continue;
            long e = parse_file(line);
            if (e < 0) { status = e == -1 ? 1 : 2; break; }
            files++;
            events += e;
        }
        free(line);
        fclose(lf);
    }
    for (; status == 0 && i < argc; i++) {
        long e = parse_file(argv[i]);
        if (e < 0) { status = e == -1 ? 1 : 2; break; }
        files++;
        events += e;
    }
    free(buf);
    if (status == 0 && !quiet) printf("floor: %ld files, %ld events\n", files, events);
    return status;
}
