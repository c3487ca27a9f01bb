/* A small HTTP/1.0 file server for the UNIX mound's socket tests.
 *
 *   httpd PORT DIR [N]   serve files under DIR on PORT; exit after N
 *                        requests (0 or absent: forever)
 *
 * GET and HEAD; 200 with Content-Length and a type by extension, 404, 400,
 * 405; `..` in a path is refused (403).  One request per connection, served
 * in turn; each served request is logged on stdout as "METHOD PATH STATUS".
 */
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html") || !strcmp(dot, ".htm"))
        return "text/html";
    if (!strcmp(dot, ".txt") || !strcmp(dot, ".sh") || !strcmp(dot, ".c"))
        return "text/plain";
    if (!strcmp(dot, ".json"))
        return "application/json";
    return "application/octet-stream";
}

static void reply(int s, int status, const char *reason, const char *body)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, strlen(body));
    write_full(s, hdr, (size_t)n);
    write_full(s, body, strlen(body));
}

/* Reads the request head (up to the blank line); returns its length. */
static int read_head(int s, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t r = read(s, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = 0;
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            break;
    }
    buf[got] = 0;
    return (int)got;
}

static void serve(int s, const char *dir)
{
    char req[8192];
    char method[16], path[4096];
    if (read_head(s, req, sizeof req) <= 0)
        return;
    if (sscanf(req, "%15s %4095s", method, path) != 2) {
        reply(s, 400, "Bad Request", "bad request\n");
        printf("? ? 400\n");
        return;
    }
    int head = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") && !head) {
        reply(s, 405, "Method Not Allowed", "method not allowed\n");
        printf("%s %s 405\n", method, path);
        return;
    }
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    if (strstr(path, "..")) {
        reply(s, 403, "Forbidden", "forbidden\n");
        printf("%s %s 403\n", method, path);
        return;
    }
    char full[8192];
    snprintf(full, sizeof full, "%s%s%s", dir, path,
             path[strlen(path) - 1] == '/' ? "index.html" : "");
    int fd = open(full, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        reply(s, 404, "Not Found", "not found\n");
        printf("%s %s 404\n", method, path);
        return;
    }
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.0 200 OK\r\nServer: spin-guest-httpd\r\nContent-Type: %s\r\n"
                     "Content-Length: %lld\r\nConnection: close\r\n\r\n",
                     type_of(full), (long long)st.st_size);
    write_full(s, hdr, (size_t)n);
    if (!head) {
        static char buf[65536];
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            if (write_full(s, buf, (size_t)r) < 0)
                break;
    }
    close(fd);
    printf("%s %s 200\n", method, path);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3) {
        fprintf(stderr, "usage: httpd PORT DIR [N]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long count = argc > 3 ? atol(argv[3]) : 0;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0) {
        fprintf(stderr, "httpd: cannot listen on %d: %s\n", port, errno_name(errno));
        return 1;
    }
    printf("httpd: listening on %d\n", port);
    for (long i = 0; count == 0 || i < count; i++) {
        int s = accept(l, NULL, NULL);
        if (s < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "httpd: accept: %s\n", errno_name(errno));
            return 1;
        }
        serve(s, argv[2]);
        shutdown(s, SHUT_WR);
        close(s);
    }
    return 0;
}
