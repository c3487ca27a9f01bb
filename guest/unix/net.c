/* Sockets for the UNIX mound: a self-checking test and small network tools.
 *
 *   net selftest             AF_INET stream + datagram sockets over loopback
 *                            (127.0.0.1, ephemeral ports): output identical on
 *                            Linux, qemu-alpha and the SPIN UNIX mound
 *   net udp-echo PORT [N]    echo datagrams (N of them, then exit; 0 = forever)
 *   net udp-send HOST PORT MSG   send MSG, print the reply
 *   net udp-ping HOST PORT N     N round trips of a 16-byte payload; prints
 *                            the median round trip in ns on stderr
 *   net tcp-echo PORT [N]    echo on TCP (N connections, one at a time)
 *   net tcp-sink PORT        accept one connection, read to EOF, print the
 *                            byte count and an FNV-1a checksum
 *   net tcp-source HOST PORT BYTES   connect, send BYTES of a fixed
 *                            pseudo-random stream, print count + checksum
 *   net tcp-get HOST PORT PATH   HTTP/1.0 GET, print the response body
 */
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

static struct sockaddr_in addr_of(const char *host, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "net: bad address %s\n", host);
        exit(2);
    }
    return a;
}

static void die(const char *what)
{
    fprintf(stderr, "net: %s: %s\n", what, errno_name(errno));
    exit(1);
}

/* A loopback socket bound to an ephemeral port; its port in *port. */
static int bound(int type, int *port)
{
    int s = socket(AF_INET, type, 0);
    if (s < 0)
        die("socket");
    struct sockaddr_in a = addr_of("127.0.0.1", 0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
        die("getsockname");
    *port = ntohs(a.sin_port);
    return s;
}

static int read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return (int)got;
}

/* ---- selftest ----------------------------------------------------------- */

static void test_udp(void)
{
    int pa, pb;
    int a = bound(SOCK_DGRAM, &pa);
    int b = bound(SOCK_DGRAM, &pb);
    struct sockaddr_in to_b = addr_of("127.0.0.1", pb);
    CHECK(sendto(a, "hello", 5, 0, (struct sockaddr *)&to_b, sizeof to_b) == 5);
    char buf[64];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    /* peek leaves it queued; MSG_TRUNC reports the whole length */
    CHECK(recvfrom(b, buf, 2, MSG_PEEK | MSG_TRUNC, NULL, NULL) == 5);
    ssize_t n = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(flen == sizeof from && from.sin_family == AF_INET && ntohs(from.sin_port) == pa);
    CHECK(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    /* a datagram longer than the buffer is truncated, the rest discarded */
    CHECK(sendto(a, "0123456789", 10, 0, (struct sockaddr *)&to_b, sizeof to_b) == 10);
    CHECK(recv(b, buf, 4, 0) == 4 && memcmp(buf, "0123", 4) == 0);
    CHECK_ERR(recv(b, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    /* recvmsg with a short iovec sets MSG_TRUNC in msg_flags */
    CHECK(sendto(a, "abcdefgh", 8, 0, (struct sockaddr *)&to_b, sizeof to_b) == 8);
    struct iovec iov[2] = {{buf, 3}, {buf + 10, 2}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    n = recvmsg(b, &m, 0);
    CHECK(n == 5 && memcmp(buf, "abc", 3) == 0 && memcmp(buf + 10, "de", 2) == 0);
    CHECK((m.msg_flags & MSG_TRUNC) != 0 && ntohs(from.sin_port) == pa);
    /* connect sets a default destination and filters the sender */
    struct sockaddr_in to_a = addr_of("127.0.0.1", pa);
    CHECK(connect(b, (struct sockaddr *)&to_a, sizeof to_a) == 0);
    CHECK(send(b, "back", 4, 0) == 4);
    CHECK(recv(a, buf, sizeof buf, 0) == 4 && memcmp(buf, "back", 4) == 0);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    CHECK(getpeername(b, (struct sockaddr *)&peer, &plen) == 0 && ntohs(peer.sin_port) == pa);
    plen = sizeof peer;
    CHECK_ERR(getpeername(a, (struct sockaddr *)&peer, &plen), ENOTCONN);
    CHECK_ERR(send(a, "x", 1, 0), EDESTADDRREQ);
    /* sendmsg gathers */
    struct iovec g[2] = {{(void *)"ga", 2}, {(void *)"ther", 4}};
    memset(&m, 0, sizeof m);
    m.msg_name = &to_b;
    m.msg_namelen = sizeof to_b;
    m.msg_iov = g;
    m.msg_iovlen = 2;
    CHECK(sendmsg(a, &m, 0) == 6);
    CHECK(recv(b, buf, sizeof buf, 0) == 6 && memcmp(buf, "gather", 6) == 0);
    /* binding a port that is taken */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_ERR(bind(c, (struct sockaddr *)&to_a, sizeof to_a), EADDRINUSE);
    /* read/write work on a connected datagram socket */
    CHECK(write(b, "rw", 2) == 2);
    CHECK(read(a, buf, sizeof buf) == 2 && memcmp(buf, "rw", 2) == 0);
    /* poll: readable only when a datagram waits */
    struct pollfd p = {a, POLLIN | POLLOUT, 0};
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
    CHECK(send(b, "p", 1, 0) == 1);
    CHECK(poll(&p, 1, 1000) == 1 && p.revents == (POLLIN | POLLOUT));
    CHECK(recv(a, buf, sizeof buf, 0) == 1);
    close(a);
    /* a connected datagram socket hears ICMP port unreachable, once */
    CHECK(send(b, "gone", 4, 0) == 4);
    struct pollfd pe = {b, POLLIN, 0};
    CHECK(poll(&pe, 1, 1000) == 1 && (pe.revents & POLLERR));
    CHECK_ERR(recv(b, buf, sizeof buf, 0), ECONNREFUSED);
    CHECK_ERR(recv(b, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(b);
    close(c);
    section("udp");
}

static void test_tcp(void)
{
    int port;
    int l = bound(SOCK_STREAM, &port);
    int one = 1;
    CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK(listen(l, 4) == 0);
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1);
    vl = sizeof v;
    CHECK(getsockopt(l, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM);

    /* non-blocking connect: EINPROGRESS, then writable, SO_ERROR 0 */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = addr_of("127.0.0.1", port);
    int r = connect(c, (struct sockaddr *)&to, sizeof to);
    CHECK(r == 0 || errno == EINPROGRESS);
    struct pollfd p = {c, POLLOUT, 0};
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT));
    vl = sizeof v;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl) == 0 && v == 0);
    /* the first connect after completion reports it, the next EISCONN */
    CHECK(connect(c, (struct sockaddr *)&to, sizeof to) == 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&to, sizeof to), EISCONN);
    int fl = fcntl(c, F_GETFL);
    CHECK(fcntl(c, F_SETFL, fl & ~O_NONBLOCK) == 0);

    /* select sees the pending connection */
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(l, &rs);
    struct timeval tv = {5, 0};
    CHECK(select(l + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(l, &rs));
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    int s = accept4(l, (struct sockaddr *)&from, &flen, SOCK_CLOEXEC);
    CHECK(s >= 0 && flen == sizeof from && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    CHECK((fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
    struct sockaddr_in me, peer;
    socklen_t ml = sizeof me, pl = sizeof peer;
    CHECK(getsockname(c, (struct sockaddr *)&me, &ml) == 0);
    CHECK(getpeername(s, (struct sockaddr *)&peer, &pl) == 0);
    CHECK(me.sin_port == peer.sin_port && me.sin_port == from.sin_port);
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    vl = sizeof v;
    CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v != 0);

    /* data both ways, a large transfer, half-close */
    char buf[4096];
    CHECK(write(c, "ping", 4) == 4);
    CHECK(read_full(s, buf, 4) == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK(send(s, "pong!", 5, 0) == 5);
    CHECK(recv(c, buf, 2, MSG_PEEK) == 2 && memcmp(buf, "po", 2) == 0);
    CHECK(read_full(c, buf, 5) == 5 && memcmp(buf, "pong!", 5) == 0);
    pid_t kid = fork();
    if (kid == 0) {
        /* the child streams 1 MiB and half-closes */
        static char chunk[8192];
        for (int i = 0; i < 128; i++) {
            memset(chunk, 'a' + i % 26, sizeof chunk);
            if (write_full(c, chunk, sizeof chunk) < 0)
                _exit(3);
        }
        shutdown(c, SHUT_WR);
        _exit(0);
    }
    uint32_t sum = 2166136261u;
    long total = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum = (sum ^ (unsigned char)buf[i]) * 16777619u;
        total += n;
    }
    int st;
    CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("tcp stream: %ld bytes, fnv %08x\n", total, sum);
    CHECK(read(s, buf, sizeof buf) == 0);
    /* the other direction still works after the peer's FIN */
    CHECK(write(s, "after", 5) == 5);
    CHECK(read_full(c, buf, 5) == 5 && memcmp(buf, "after", 5) == 0);
    close(s);
    CHECK(read(c, buf, sizeof buf) == 0);
    close(c);

    /* refused: a port nobody listens on */
    int dead_port;
    int d = bound(SOCK_STREAM, &dead_port);
    close(d);
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in dead = addr_of("127.0.0.1", dead_port);
    CHECK_ERR(connect(c2, (struct sockaddr *)&dead, sizeof dead), ECONNREFUSED);
    close(c2);

    /* errors */
    int c3 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR(send(c3, "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK_ERR(recv(c3, buf, 1, 0), ENOTCONN);
    CHECK_ERR(accept(c3, NULL, NULL), EINVAL);
    CHECK_ERR(shutdown(c3, SHUT_RDWR), ENOTCONN);
    close(c3);
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK_ERR(listen(fds[0], 1), ENOTSOCK);
    CHECK_ERR(accept(fds[0], NULL, NULL), ENOTSOCK);
    close(fds[0]);
    close(fds[1]);
    CHECK_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    CHECK_ERR(listen(99, 1), EBADF);
    /* non-blocking accept with nothing waiting */
    CHECK(fcntl(l, F_SETFL, O_NONBLOCK) == 0);
    CHECK_ERR(accept(l, NULL, NULL), EAGAIN);
    close(l);
    /* a server that closes first leaves its port a connection in
       TIME_WAIT: binding the port again takes SO_REUSEADDR */
    int tp;
    int tl = bound(SOCK_STREAM, &tp);
    CHECK(setsockopt(tl, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK(listen(tl, 1) == 0);
    int tc = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in tto = addr_of("127.0.0.1", tp);
    CHECK(connect(tc, (struct sockaddr *)&tto, sizeof tto) == 0);
    int ts = accept(tl, NULL, NULL);
    CHECK(ts >= 0);
    close(ts);
    CHECK(read(tc, buf, sizeof buf) == 0);
    close(tc);
    close(tl);
    int l2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR(bind(l2, (struct sockaddr *)&tto, sizeof tto), EADDRINUSE);
    CHECK(setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK(bind(l2, (struct sockaddr *)&tto, sizeof tto) == 0);
    CHECK(listen(l2, 1) == 0);
    close(l2);
    section("tcp");
}

static int selftest(void)
{
    test_udp();
    test_tcp();
    return finish("net");
}

/* ---- tools -------------------------------------------------------------- */

static int udp_echo(int port, long count)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = addr_of("0.0.0.0", port);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    char buf[65536];
    for (long i = 0; count == 0 || i < count; i++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            die("recvfrom");
        if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) < 0)
            die("sendto");
    }
    return 0;
}

static int udp_send(const char *host, int port, const char *msg)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = addr_of(host, port);
    if (s < 0 || sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a) < 0)
        die("sendto");
    char buf[65536];
    ssize_t n = recv(s, buf, sizeof buf - 1, 0);
    if (n < 0)
        die("recv");
    buf[n] = 0;
    printf("%s\n", buf);
    return 0;
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int udp_ping(const char *host, int port, long n)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = addr_of(host, port);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    long long *t = calloc((size_t)n, sizeof *t);
    char payload[16] = "0123456789abcdef", buf[64];
    for (long i = 0; i < n; i++) {
        long long t0 = now_ns();
        if (send(s, payload, sizeof payload, 0) != sizeof payload)
            die("send");
        if (recv(s, buf, sizeof buf, 0) != sizeof payload)
            die("recv");
        t[i] = now_ns() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    fprintf(stderr, "udp-ping: %ld round trips, median %lld ns\n", n, t[n / 2]);
    printf("%ld round trips\n", n);
    return 0;
}

static int listener(int port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of("0.0.0.0", port);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0)
        die("listen");
    return l;
}

static int tcp_echo(int port, long count)
{
    int l = listener(port);
    char buf[65536];
    for (long i = 0; count == 0 || i < count; i++) {
        int s = accept(l, NULL, NULL);
        if (s < 0)
            die("accept");
        for (;;) {
            ssize_t n = read(s, buf, sizeof buf);
            if (n <= 0 || write_full(s, buf, (size_t)n) < 0)
                break;
        }
        close(s);
    }
    return 0;
}

/* The byte stream tcp-source sends: xorshift, from a fixed seed. */
static uint32_t stream_state = 2463534242u;
static unsigned char stream_byte(void)
{
    stream_state ^= stream_state << 13;
    stream_state ^= stream_state >> 17;
    stream_state ^= stream_state << 5;
    return (unsigned char)stream_state;
}

static int tcp_sink(int port)
{
    int l = listener(port);
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("accept");
    static char buf[65536];
    uint32_t sum = 2166136261u;
    long long total = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum = (sum ^ (unsigned char)buf[i]) * 16777619u;
        total += n;
    }
    printf("%lld bytes fnv %08x\n", total, sum);
    return 0;
}

static int tcp_source(const char *host, int port, long long bytes)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr_of(host, port);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    static char buf[65536];
    uint32_t sum = 2166136261u;
    long long left = bytes;
    while (left > 0) {
        size_t n = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            buf[i] = (char)stream_byte();
            sum = (sum ^ (unsigned char)buf[i]) * 16777619u;
        }
        if (write_full(s, buf, n) < 0)
            die("write");
        left -= (long long)n;
    }
    shutdown(s, SHUT_WR);
    /* wait for the peer to close: everything was received */
    char c;
    while (read(s, &c, 1) > 0)
        ;
    printf("%lld bytes fnv %08x\n", bytes, sum);
    return 0;
}

static int tcp_get(const char *host, int port, const char *path)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr_of(host, port);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
    if (write_full(s, req, (size_t)n) < 0)
        die("write");
    static char resp[1 << 20];
    int got = read_full(s, resp, sizeof resp - 1);
    resp[got] = 0;
    char *body = strstr(resp, "\r\n\r\n");
    if (!body) {
        fprintf(stderr, "net: no HTTP header end\n");
        return 1;
    }
    fwrite(body + 4, 1, (size_t)(got - (body + 4 - resp)), stdout);
    return strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, " 200 ") ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    const char *cmd = argc > 1 ? argv[1] : "selftest";
    if (!strcmp(cmd, "selftest"))
        return selftest();
    if (!strcmp(cmd, "udp-echo") && argc >= 3)
        return udp_echo(atoi(argv[2]), argc > 3 ? atol(argv[3]) : 0);
    if (!strcmp(cmd, "udp-send") && argc == 5)
        return udp_send(argv[2], atoi(argv[3]), argv[4]);
    if (!strcmp(cmd, "udp-ping") && argc == 5)
        return udp_ping(argv[2], atoi(argv[3]), atol(argv[4]));
    if (!strcmp(cmd, "tcp-echo") && argc >= 3)
        return tcp_echo(atoi(argv[2]), argc > 3 ? atol(argv[3]) : 0);
    if (!strcmp(cmd, "tcp-sink") && argc == 3)
        return tcp_sink(atoi(argv[2]));
    if (!strcmp(cmd, "tcp-source") && argc == 5)
        return tcp_source(argv[2], atoi(argv[3]), atoll(argv[4]));
    if (!strcmp(cmd, "tcp-get") && argc == 5)
        return tcp_get(argv[2], atoi(argv[3]), argv[4]);
    fprintf(stderr, "usage: net selftest | udp-echo PORT [N] | udp-send HOST PORT MSG |"
                    " udp-ping HOST PORT N | tcp-echo PORT [N] | tcp-sink PORT |"
                    " tcp-source HOST PORT BYTES | tcp-get HOST PORT PATH\n");
    return 2;
}
