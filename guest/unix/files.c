/* files: file system, descriptor, pipe, fork and exec semantics.
 *
 * Everything happens under a fresh directory made with mkdtemp() in /tmp
 * (its name is never printed) which is removed at the end.  Each section
 * prints "NAME: ok" plus a few architecture-neutral facts it verified.
 *
 *   files                      run every section
 *   files --exec-child ...     the image execve() starts (see exec_section)
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>

static char topdir[64];
static char self_exe[8192]; /* readlink("/proc/self/exe"), made absolute */

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(close(fd) == 0);
}

/* Whole file as a NUL-terminated string (static buffer). */
static const char *read_file(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    CHECK(r == 0);
    buf[n < 0 ? 0 : n] = 0;
    close(fd);
    return buf;
}

static int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void basic_io(void)
{
    const char *msg = "hello, files\n";
    int fd = creat("a.txt", 0666);
    CHECK(fd >= 0);
    CHECK(write(fd, msg, strlen(msg)) == 13);
    /* creat() opens write-only. */
    char c;
    CHECK_ERR(read(fd, &c, 1), EBADF);
    CHECK(close(fd) == 0);
    CHECK_ERR(close(fd), EBADF);

    struct stat st;
    CHECK(stat("a.txt", &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 0777) == 0644); /* umask 022 */
    CHECK(st.st_size == 13);
    CHECK(st.st_nlink == 1);

    fd = open("a.txt", O_RDWR);
    CHECK(fd >= 0);
    char buf[64] = {0};
    CHECK(read(fd, buf, 5) == 5 && !memcmp(buf, "hello", 5));
    CHECK(lseek(fd, 0, SEEK_CUR) == 5);
    CHECK(lseek(fd, -6, SEEK_END) == 7);
    CHECK(read(fd, buf, sizeof buf) == 6 && !memcmp(buf, "files\n", 6));
    CHECK(read(fd, buf, sizeof buf) == 0); /* EOF */
    CHECK(lseek(fd, 7, SEEK_SET) == 7);
    CHECK(write(fd, "FILES", 5) == 5);
    CHECK(pread(fd, buf, 12, 0) == 12 && !memcmp(buf, "hello, FILES", 12));
    CHECK(lseek(fd, 0, SEEK_CUR) == 12); /* pread leaves the offset */
    CHECK(pwrite(fd, "H", 1, 0) == 1);
    CHECK(lseek(fd, 0, SEEK_CUR) == 12);
    CHECK_ERR(lseek(fd, -100, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, 0, 12345), EINVAL);

    /* Writing past the end leaves a hole that reads as zeros. */
    CHECK(lseek(fd, 20, SEEK_SET) == 20);
    CHECK(write(fd, "!", 1) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 21);
    memset(buf, 'x', sizeof buf);
    CHECK(pread(fd, buf, 21, 0) == 21);
    CHECK(!memcmp(buf, "Hello, FILES\n\0\0\0\0\0\0\0!", 21));

    /* ftruncate: shrink, then grow with zeros. */
    CHECK(ftruncate(fd, 5) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
    CHECK(ftruncate(fd, 4000) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 4000);
    memset(buf, 'x', sizeof buf);
    CHECK(pread(fd, buf, 10, 0) == 10 && !memcmp(buf, "Hello\0\0\0\0\0", 10));
    CHECK(pread(fd, buf, 64, 3990) == 10);
    CHECK_ERR(ftruncate(fd, -1), EINVAL);
    CHECK(close(fd) == 0);

    /* O_APPEND, O_EXCL, O_TRUNC. */
    fd = open("a.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "END", 3) == 3);
    CHECK(lseek(fd, 0, SEEK_CUR) == 4003);
    close(fd);
    CHECK_ERR(open("a.txt", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    fd = open("a.txt", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    CHECK_ERR(open("missing", O_RDONLY), ENOENT);
    CHECK_ERR(open("a.txt/x", O_RDONLY), ENOTDIR);
    CHECK_ERR(open("a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_ERR(stat("missing", &st), ENOENT);

    /* /dev/null and /dev/zero. */
    fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0);
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(read(fd, buf, sizeof buf) == 0);
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    CHECK(fd >= 0);
    memset(buf, 'x', sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == sizeof buf);
    int zeros = 1;
    for (size_t i = 0; i < sizeof buf; i++)
        zeros &= buf[i] == 0;
    CHECK(zeros);
    close(fd);

    struct utsname u;
    CHECK(uname(&u) == 0 && !strcmp(u.sysname, "Linux"));
    printf("io: write/read/lseek/pread/pwrite/fstat/ftruncate/O_APPEND/O_EXCL\n");
    section("io");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path, const char *label)
{
    DIR *d = opendir(path);
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[64];
    int n = 0, dot = 0, dotdot = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, "."))
            dot++;
        else if (!strcmp(e->d_name, ".."))
            dotdot++;
        else if (n < 64)
            names[n++] = strdup(e->d_name);
    }
    CHECK(dot == 1 && dotdot == 1);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    printf("%s:", label);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void dirs(void)
{
    CHECK(mkdir("d", 0755) == 0);
    CHECK_ERR(mkdir("d", 0755), EEXIST);
    CHECK(mkdir("d/sub", 0700) == 0);
    struct stat st;
    CHECK(stat("d/sub", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    const char *names[] = {"zeta", "alpha", "Mid", "b2", "b10", "_x"};
    for (int i = 0; i < 6; i++) {
        char p[64];
        snprintf(p, sizeof p, "d/%s", names[i]);
        write_file(p, names[i]);
    }
    list_dir("d", "readdir d");
    /* Many entries, to make getdents64 return more than one buffer. */
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "d/sub/entry-with-a-long-name-%03d", i);
        int fd = open(p, O_CREAT | O_WRONLY, 0600);
        CHECK(fd >= 0);
        close(fd);
    }
    DIR *dp = opendir("d/sub");
    int count = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL)
        count++;
    if (dp)
        closedir(dp);
    printf("readdir d/sub: %d entries\n", count);
    CHECK(count == 302);
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "d/sub/entry-with-a-long-name-%03d", i);
        CHECK(unlink(p) == 0);
    }

    /* rename: within a directory, across directories, over an existing file. */
    CHECK(rename("d/alpha", "d/beta") == 0);
    CHECK_ERR(stat("d/alpha", &st), ENOENT);
    CHECK(!strcmp(read_file("d/beta"), "alpha"));
    CHECK(rename("d/beta", "d/sub/moved") == 0);
    CHECK(rename("d/zeta", "d/sub/moved") == 0);
    CHECK(!strcmp(read_file("d/sub/moved"), "zeta"));
    CHECK_ERR(rename("d/nothing", "d/x"), ENOENT);
    CHECK(rename("d/sub", "d/sub2") == 0);
    list_dir("d", "after rename d");
    list_dir("d/sub2", "after rename d/sub2");

    CHECK_ERR(rmdir("d"), ENOTEMPTY);
    CHECK_ERR(unlink("d/sub2"), EISDIR);
    CHECK_ERR(rmdir("d/b2"), ENOTDIR);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    char c;
    CHECK(dfd >= 0);
    CHECK_ERR(read(dfd, &c, 1), EISDIR);
    close(dfd);
    CHECK(unlink("d/sub2/moved") == 0);
    CHECK(rmdir("d/sub2") == 0);
    const char *left[] = {"Mid", "b2", "b10", "_x"};
    for (int i = 0; i < 4; i++) {
        char p[64];
        snprintf(p, sizeof p, "d/%s", left[i]);
        CHECK(unlink(p) == 0);
    }
    CHECK_ERR(unlink("d/b2"), ENOENT);
    list_dir("d", "emptied d");
    CHECK(rmdir("d") == 0);
    CHECK_ERR(stat("d", &st), ENOENT);
    section("dirs");
}

static void cwd_umask_access(void)
{
    char cwd[4096], want[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(!strcmp(cwd, topdir));
    CHECK(mkdir("c1", 0755) == 0 && mkdir("c1/c2", 0755) == 0);
    CHECK(chdir("c1/c2") == 0);
    snprintf(want, sizeof want, "%s/c1/c2", topdir);
    CHECK(getcwd(cwd, sizeof cwd) != NULL && !strcmp(cwd, want));
    write_file("here", "deep");
    CHECK(chdir("../..") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL && !strcmp(cwd, topdir));
    CHECK(!strcmp(read_file("c1/c2/here"), "deep"));
    CHECK_ERR(chdir("c1/c2/here"), ENOTDIR);
    CHECK_ERR(chdir("nowhere"), ENOENT);
    CHECK(getcwd(cwd, 2) == NULL && errno == ERANGE);

    /* umask */
    CHECK(umask(077) == 022);
    write_file("private", "p");
    struct stat st;
    CHECK(stat("private", &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(mkdir("pdir", 0777) == 0);
    CHECK(stat("pdir", &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(umask(022) == 077);
    CHECK(chmod("private", 0640) == 0);
    CHECK(stat("private", &st) == 0 && (st.st_mode & 0777) == 0640);
    int pfd = open("private", O_RDONLY);
    CHECK(pfd >= 0 && fchmod(pfd, 0604) == 0);
    CHECK(fstat(pfd, &st) == 0 && (st.st_mode & 0777) == 0604);
    CHECK(close(pfd) == 0);

    /* access: holds for root and for ordinary users alike. */
    CHECK(access("private", F_OK) == 0);
    CHECK(access("private", R_OK | W_OK) == 0);
    CHECK_ERR(access("private", X_OK), EACCES);
    CHECK(access("pdir", X_OK) == 0);
    CHECK_ERR(access("nothing", F_OK), ENOENT);

    CHECK(unlink("private") == 0 && rmdir("pdir") == 0);
    CHECK(unlink("c1/c2/here") == 0 && rmdir("c1/c2") == 0 && rmdir("c1") == 0);
    printf("cwd: getcwd/chdir relative and .., umask 022->077->022, access\n");
    section("cwd");
}

static void fds(void)
{
    int fd = open("f.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    /* dup returns the lowest free descriptor and shares the offset. */
    int d1 = dup(fd);
    CHECK(d1 > fd);
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(lseek(d1, 0, SEEK_CUR) == 3);
    CHECK(write(d1, "def", 3) == 3);
    CHECK(lseek(fd, 0, SEEK_CUR) == 6);
    close(d1);
    int d2 = dup(fd);
    CHECK(d2 == d1); /* the lowest free one again */

    CHECK(dup2(fd, 50) == 50);
    CHECK(fd_is_open(50));
    CHECK(fcntl(50, F_GETFD) == 0); /* dup2 clears FD_CLOEXEC */
    CHECK(dup2(50, 50) == 50);
    CHECK_ERR(dup2(50, -1), EBADF);
    CHECK_ERR(dup2(12345, 51), EBADF);
    CHECK(dup3(fd, 51, O_CLOEXEC) == 51);
    CHECK(fcntl(51, F_GETFD) == FD_CLOEXEC);
    CHECK_ERR(dup3(51, 51, 0), EINVAL);
    CHECK_ERR(dup3(fd, 52, 0x7fff0000), EINVAL);
    CHECK(close(50) == 0 && close(51) == 0 && close(d2) == 0);
    CHECK_ERR(dup(50), EBADF);

    /* fcntl: F_DUPFD, F_GETFL/F_SETFL, F_GETFD/F_SETFD. */
    int d3 = fcntl(fd, F_DUPFD, 20);
    CHECK(d3 >= 20);
    int d4 = fcntl(fd, F_DUPFD_CLOEXEC, 20);
    CHECK(d4 > d3 && fcntl(d4, F_GETFD) == FD_CLOEXEC);
    close(d3);
    close(d4);
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl != -1 && (fl & O_ACCMODE) == O_RDWR && !(fl & O_APPEND));
    CHECK(fcntl(fd, F_SETFL, fl | O_APPEND) == 0);
    CHECK(fcntl(fd, F_GETFL) & O_APPEND);
    CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "g", 1) == 1);
    CHECK(lseek(fd, 0, SEEK_CUR) == 7);
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(fd, F_SETFD, 0) == 0);
    CHECK_ERR(fcntl(-1, F_GETFL), EBADF);
    CHECK(!strcmp(read_file("f.txt"), "abcdefg"));
    printf("fds: dup/dup2/dup3/F_DUPFD/F_GETFL/F_SETFL/F_GETFD/F_SETFD\n");
    section("fds");

    /* Record locks: our own locks never conflict with us; a child sees them. */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK(fcntl(fd, F_SETLK, &lk) == 0);
    struct flock rl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 30, .l_len = 5};
    CHECK(fcntl(fd, F_SETLK, &rl) == 0);
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
    CHECK(fcntl(fd, F_GETLK, &q) == 0 && q.l_type == F_UNLCK);
    pid_t me = getpid();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        struct flock g = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        if (fcntl(fd, F_GETLK, &g) != 0 || g.l_type != F_WRLCK || g.l_pid != me ||
            g.l_start != 0 || g.l_len != 10)
            bad |= 1;
        struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        if (fcntl(fd, F_SETLK, &w) != -1 || (errno != EAGAIN && errno != EACCES))
            bad |= 2;
        struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 30, .l_len = 5};
        if (fcntl(fd, F_SETLK, &r) != 0) /* shared with the parent's read lock */
            bad |= 4;
        struct flock w2 = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 32, .l_len = 1};
        if (fcntl(fd, F_SETLK, &w2) != -1)
            bad |= 8;
        struct flock free_ = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20};
        if (fcntl(fd, F_SETLK, &free_) != 0)
            bad |= 16;
        _exit(bad);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("locks: child %s (0 = saw the parent's locks)\n", status_text(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    lk.l_type = F_UNLCK;
    CHECK(fcntl(fd, F_SETLK, &lk) == 0);
    close(fd);
    CHECK(unlink("f.txt") == 0);
    section("locks");
}

static void pipe_fork_wait(void)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    CHECK_ERR(pipe2(p, 0x7fff0000), EINVAL);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        const char *m = "message from the child\n";
        for (int i = 0; i < 100; i++)
            if (write(p[1], m, strlen(m)) != (ssize_t)strlen(m))
                _exit(99);
        _exit(7);
    }
    close(p[1]);
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        total += n;
    CHECK(n == 0);
    close(p[0]);
    int st = 0;
    struct rusage ru;
    CHECK(wait4(pid, &st, 0, &ru) == pid);
    printf("pipe: read %zu bytes until EOF; child %s\n", total, status_text(st));
    CHECK(total == 2300 && WIFEXITED(st) && WEXITSTATUS(st) == 7);
    CHECK_ERR(wait4(-1, &st, WNOHANG, NULL), ECHILD);

    /* A child killed by a signal, reaped with WNOHANG polling. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    pid_t r;
    while ((r = wait4(pid, &st, WNOHANG, NULL)) == 0)
        usleep(1000);
    CHECK(r == pid);
    printf("pipe: second child %s\n", status_text(st));
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    /* Several children, reaped in any order, statuses summed. */
    fflush(stdout);
    for (int i = 1; i <= 5; i++) {
        if (fork() == 0)
            _exit(i * 10);
    }
    int sum = 0, reaped = 0;
    while ((r = wait(&st)) > 0) {
        reaped++;
        sum += WEXITSTATUS(st);
    }
    CHECK(errno == ECHILD);
    printf("pipe: reaped %d children, status sum %d\n", reaped, sum);
    CHECK(reaped == 5 && sum == 150);
    section("fork");
}

static int exec_child(int argc, char **argv)
{
    printf("exec child: argc=%d\n", argc);
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "fd=", 3) || !strncmp(argv[i], "cfd=", 4))
            continue;
        printf("exec child: argv[%d]=%s\n", i, argv[i]);
    }
    const char *v = getenv("FILES_ENV");
    printf("exec child: FILES_ENV=%s\n", v ? v : "(unset)");
    printf("exec child: HOME is %s\n", getenv("HOME") ? "set" : "unset");
    int bad = 0;
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "fd=", 3)) {
            int fd = atoi(argv[i] + 3);
            char buf[16] = {0};
            /* The inherited descriptor is open and keeps its offset. */
            if (!fd_is_open(fd) || read(fd, buf, 5) != 5 || strcmp(buf, "56789"))
                bad = 1;
        }
        if (!strncmp(argv[i], "cfd=", 4) && fd_is_open(atoi(argv[i] + 4)))
            bad = 2; /* FD_CLOEXEC was not honoured */
    }
    printf("exec child: inherited fd ok=%d, cloexec fd closed=%d\n", bad != 1, bad != 2);
    fflush(stdout);
    return bad ? 1 : 42;
}

static void exec_section(char *argv0)
{
    write_file("exec.txt", "0123456789");
    int fd = open("exec.txt", O_RDONLY);
    int cfd = open("exec.txt", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && cfd >= 0);
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    char fdarg[32], cfdarg[32];
    snprintf(fdarg, sizeof fdarg, "fd=%d", fd);
    snprintf(cfdarg, sizeof cfdarg, "cfd=%d", cfd);
    char *args[] = {argv0, "--exec-child", "two words", "", "last", fdarg, cfdarg, NULL};
    char wrapenv[4200];
    const char *w = getenv("GUEST_EXEC_WRAPPER");
    snprintf(wrapenv, sizeof wrapenv, "GUEST_EXEC_WRAPPER=%s", w ? w : "");
    char *env[] = {"FILES_ENV=value from execve", wrapenv, NULL};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        exec_image(self_exe, args, env);
        printf("FAIL: execve of our own image: %s\n", errno_name(errno));
        fflush(stdout);
        _exit(127);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("exec: child %s\n", status_text(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
    /* A failed execve returns to the caller. */
    char *none[] = {"nothing", NULL};
    CHECK_ERR(execve("/nonexistent/program", none, env), ENOENT);
    CHECK_ERR(execve("exec.txt", none, env), EACCES); /* not executable */
    close(fd);
    close(cfd);
    CHECK(unlink("exec.txt") == 0);
    section("exec");
}

static void sendfile_poll_writev(void)
{
    /* writev gathers the buffers in order. */
    int fd = open("src.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    struct iovec iov[3] = {
        {.iov_base = "gather ", .iov_len = 7},
        {.iov_base = "", .iov_len = 0},
        {.iov_base = "write\n", .iov_len = 6},
    };
    CHECK(writev(fd, iov, 3) == 13);
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = 'a' + i % 26;
    CHECK(write(fd, big, sizeof big) == (ssize_t)sizeof big);
    CHECK(!memcmp(read_file("src.txt"), "gather write\nabc", 16));

    /* sendfile: file -> file with an offset pointer, then file -> pipe. */
    int out = open("dst.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(out >= 0);
    off_t off = 7;
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t n = sendfile(out, fd, &off, 6);
    CHECK(n == 6 && off == 13);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0); /* offset pointer given: fd untouched */
    n = sendfile(out, fd, NULL, 100000); /* from the file offset, to EOF */
    CHECK(n == 5013);
    CHECK(lseek(fd, 0, SEEK_CUR) == 5013);
    close(out);
    struct stat st;
    CHECK(stat("dst.txt", &st) == 0 && st.st_size == 5019);
    CHECK(!memcmp(read_file("dst.txt"), "write\ngather", 12));
    int p[2];
    CHECK(pipe(p) == 0);
    off = 0;
    CHECK(sendfile(p[1], fd, &off, 13) == 13);
    char buf[64] = {0};
    CHECK(read(p[0], buf, sizeof buf) == 13 && !strcmp(buf, "gather write\n"));
    CHECK_ERR(sendfile(p[1], 9999, NULL, 1), EBADF);
    printf("sendfile/writev: %lld bytes copied\n", (long long)st.st_size);
    close(fd);
    unlink("src.txt");
    unlink("dst.txt");

    /* poll on a pipe: empty, readable, hang-up. */
    struct pollfd pf[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLOUT}};
    CHECK(poll(pf, 1, 0) == 0 && pf[0].revents == 0);
    CHECK(poll(&pf[1], 1, 0) == 1 && pf[1].revents == POLLOUT);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(poll(pf, 2, 1000) == 2 && pf[0].revents == POLLIN && pf[1].revents == POLLOUT);
    CHECK(read(p[0], buf, 1) == 1);
    CHECK(poll(pf, 1, 10) == 0); /* times out */
    /* A writer in a child: poll blocks until it writes. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(20000);
        _exit(write(p[1], "late", 4) == 4 ? 0 : 1);
    }
    CHECK(poll(pf, 1, 10000) == 1 && pf[0].revents == POLLIN);
    int ws;
    waitpid(pid, &ws, 0);
    CHECK(read(p[0], buf, 4) == 4 && !memcmp(buf, "late", 4));
    close(p[1]);
    CHECK(poll(pf, 1, 0) == 1 && (pf[0].revents & POLLHUP) && !(pf[0].revents & POLLIN));
    CHECK(read(p[0], buf, 1) == 0);
    struct pollfd badp = {.fd = 9999, .events = POLLIN};
    CHECK(poll(&badp, 1, 0) == 1 && badp.revents == POLLNVAL);
    close(p[0]);
    printf("poll: empty, POLLIN, POLLOUT, timeout, wake-up, POLLHUP, POLLNVAL\n");
    section("sendfile/poll/writev");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--exec-child"))
        return exec_child(argc, argv);

    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    /* Our own image, resolved before we chdir: qemu-user turns an execve of
     * /proc/self/exe into one of the path it was started with, which may be
     * relative to the original working directory. */
    char link[4096];
    ssize_t len = readlink("/proc/self/exe", link, sizeof link - 1);
    CHECK(len > 0);
    link[len > 0 ? len : 0] = 0;
    if (link[0] == '/') {
        snprintf(self_exe, sizeof self_exe, "%s", link);
    } else {
        char cwd[2048];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        snprintf(self_exe, sizeof self_exe, "%s/%s", cwd, link);
    }
    struct stat sst;
    CHECK(stat(self_exe, &sst) == 0 && S_ISREG(sst.st_mode) && (sst.st_mode & 0111));
    umask(022);
    strcpy(topdir, "/tmp/files-XXXXXX");
    if (!mkdtemp(topdir)) {
        printf("FAIL: mkdtemp: %s\n", errno_name(errno));
        return 1;
    }
    CHECK(chdir(topdir) == 0);
    printf("files: working in a fresh directory under /tmp\n");

    basic_io();
    dirs();
    cwd_umask_access();
    fds();
    pipe_fork_wait();
    exec_section(argv[0]);
    sendfile_poll_writev();

    CHECK(unlink("a.txt") == 0);
    CHECK(chdir("/") == 0);
    CHECK(rmdir(topdir) == 0);
    struct stat st;
    CHECK_ERR(stat(topdir, &st), ENOENT);
    return finish("files");
}
