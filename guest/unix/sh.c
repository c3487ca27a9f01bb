/* sh: a small shell-like script runner.
 *
 *   sh SCRIPT          run a script file
 *   sh -c WORDS...     run WORDS joined by spaces as a script
 *   sh                 run the script read (entirely, up front) from stdin
 *
 * Language: one command per line or separated by `;`; `#` comments; words
 * with '...' (literal) and "..." (with $ expansion) quoting; $NAME, ${NAME}
 * and $? (status of the last command) expand inside a word without splitting
 * it.  Builtins: echo [-n], cd DIR, pwd, exit [N], set NAME=VALUE (exported to
 * children), unset NAME, mktempdir NAME (a fresh directory under /tmp), rm
 * FILE..., rmdir DIR..., and `loop N` ... `end` blocks (N rounds, 0 = forever,
 * $I = the round).  Other commands must be paths: they are run with
 * fork + execve + wait4, in pipelines `a | b | c` (each pipeline its own
 * process group), with redirections `< file`, `> file`, `>> file`, `2> file`,
 * `2>&1`.  $? is 128+N for a command killed by signal N.  The variable BIN
 * starts as the directory of this program, so scripts can run `$BIN/hello`.
 */
#include "common.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

extern char **environ;

static int last_status;

#define MAXW 64
#define MAXCMD 8

struct cmd {
    char *argv[MAXW];
    int argc;
    char *in, *out, *err;
    int append, err_to_out;
};

static void die_oom(void)
{
    fprintf(stderr, "sh: out of memory\n");
    exit(2);
}

/* A growable string. */
struct str {
    char *s;
    size_t n, cap;
};

static void put(struct str *b, char c)
{
    if (b->n + 2 > b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            die_oom();
    }
    b->s[b->n++] = c;
    b->s[b->n] = 0;
}

static void puts_(struct str *b, const char *s)
{
    while (*s)
        put(b, *s++);
}

/* Expand $NAME / ${NAME} / $? at *pp, appending to b. */
static void expand(const char **pp, struct str *b)
{
    const char *p = *pp + 1; /* past '$' */
    char name[128];
    size_t n = 0;
    if (*p == '?') {
        char num[16];
        snprintf(num, sizeof num, "%d", last_status);
        puts_(b, num);
        *pp = p + 1;
        return;
    }
    int brace = *p == '{';
    if (brace)
        p++;
    while ((isalnum((unsigned char)*p) || *p == '_') && n < sizeof name - 1)
        name[n++] = *p++;
    name[n] = 0;
    if (brace && *p == '}')
        p++;
    if (n == 0) {
        put(b, '$');
    } else {
        const char *v = getenv(name);
        if (v)
            puts_(b, v);
    }
    *pp = p;
}

enum tok { T_WORD, T_PIPE, T_IN, T_OUT, T_APPEND, T_ERR, T_ERR2OUT, T_SEMI, T_END };

/* Next token from *pp; for T_WORD, *word receives the expanded word. */
static enum tok next_token(const char **pp, char **word)
{
    const char *p = *pp;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '\n' || *p == '#') {
        *pp = p;
        return T_END;
    }
    if (*p == ';') {
        *pp = p + 1;
        return T_SEMI;
    }
    if (*p == '|') {
        *pp = p + 1;
        return T_PIPE;
    }
    if (*p == '<') {
        *pp = p + 1;
        return T_IN;
    }
    if (*p == '>') {
        if (p[1] == '>') {
            *pp = p + 2;
            return T_APPEND;
        }
        *pp = p + 1;
        return T_OUT;
    }
    if (p[0] == '2' && p[1] == '>') {
        if (p[2] == '&' && p[3] == '1') {
            *pp = p + 4;
            return T_ERR2OUT;
        }
        *pp = p + 2;
        return T_ERR;
    }
    struct str b = {0};
    put(&b, 0);
    b.n = 0;
    while (*p && !strchr(" \t\n;|<>", *p)) {
        if (*p == '\'') {
            p++;
            while (*p && *p != '\'')
                put(&b, *p++);
            if (*p)
                p++;
        } else if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '$')
                    expand(&p, &b);
                else if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
                    put(&b, p[1]);
                    p += 2;
                } else
                    put(&b, *p++);
            }
            if (*p)
                p++;
        } else if (*p == '$') {
            expand(&p, &b);
        } else if (*p == '\\' && p[1]) {
            put(&b, p[1]);
            p += 2;
        } else {
            put(&b, *p++);
        }
    }
    *pp = p;
    *word = b.s;
    return T_WORD;
}

static int builtin_echo(char **argv, int argc)
{
    int i = 1, nl = 1;
    if (argc > 1 && !strcmp(argv[1], "-n")) {
        nl = 0;
        i++;
    }
    for (; i < argc; i++)
        printf("%s%s", argv[i], i + 1 < argc ? " " : "");
    if (nl)
        putchar('\n');
    fflush(stdout);
    return 0;
}

static int is_builtin(const char *name)
{
    static const char *const names[] = {"echo", "cd", "pwd", "exit", "set", "unset",
                                        "mktempdir", "rm", "rmdir", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

/* Run a builtin in the current process.  *exiting is set by `exit`. */
static int run_builtin(struct cmd *c, int *exiting)
{
    char **argv = c->argv;
    int argc = c->argc;
    const char *name = argv[0];
    if (!strcmp(name, "echo"))
        return builtin_echo(argv, argc);
    if (!strcmp(name, "pwd")) {
        char buf[4096];
        if (!getcwd(buf, sizeof buf)) {
            fprintf(stderr, "sh: pwd: %s\n", errno_name(errno));
            return 1;
        }
        printf("%s\n", buf);
        fflush(stdout);
        return 0;
    }
    if (!strcmp(name, "cd")) {
        const char *d = argc > 1 ? argv[1] : getenv("HOME");
        if (!d || chdir(d) != 0) {
            fprintf(stderr, "sh: cd: %s: %s\n", d ? d : "(no HOME)", errno_name(errno));
            return 1;
        }
        return 0;
    }
    if (!strcmp(name, "exit")) {
        *exiting = 1;
        return argc > 1 ? atoi(argv[1]) & 255 : last_status;
    }
    if (!strcmp(name, "set")) {
        for (int i = 1; i < argc; i++) {
            char *eq = strchr(argv[i], '=');
            if (!eq || eq == argv[i]) {
                fprintf(stderr, "sh: set: expected NAME=VALUE, got '%s'\n", argv[i]);
                return 1;
            }
            *eq = 0;
            setenv(argv[i], eq + 1, 1);
            *eq = '=';
        }
        return 0;
    }
    if (!strcmp(name, "unset")) {
        for (int i = 1; i < argc; i++)
            unsetenv(argv[i]);
        return 0;
    }
    if (!strcmp(name, "mktempdir")) {
        char tmpl[] = "/tmp/sh-XXXXXX";
        if (argc != 2 || !mkdtemp(tmpl)) {
            fprintf(stderr, "sh: mktempdir: %s\n", argc != 2 ? "usage: mktempdir NAME" : errno_name(errno));
            return 1;
        }
        setenv(argv[1], tmpl, 1);
        return 0;
    }
    if (!strcmp(name, "rm") || !strcmp(name, "rmdir")) {
        int st = 0;
        for (int i = 1; i < argc; i++)
            if ((name[1] == 'm' && name[2] == 0 ? unlink(argv[i]) : rmdir(argv[i])) != 0) {
                fprintf(stderr, "sh: %s: %s: %s\n", name, argv[i], errno_name(errno));
                st = 1;
            }
        return st;
    }
    return 127;
}

static int redirect(int fd, const char *path, int flags)
{
    int f = open(path, flags, 0644);
    if (f < 0) {
        fprintf(stderr, "sh: %s: %s\n", path, errno_name(errno));
        return -1;
    }
    if (f != fd) {
        dup2(f, fd);
        close(f);
    }
    return 0;
}

static int apply_redirections(struct cmd *c)
{
    if (c->in && redirect(0, c->in, O_RDONLY) < 0)
        return -1;
    if (c->out && redirect(1, c->out, O_WRONLY | O_CREAT | (c->append ? O_APPEND : O_TRUNC)) < 0)
        return -1;
    if (c->err && redirect(2, c->err, O_WRONLY | O_CREAT | O_TRUNC) < 0)
        return -1;
    if (c->err_to_out)
        dup2(1, 2);
    return 0;
}

/* In a forked child: run the command, never return. */
static void child_exec(struct cmd *c)
{
    if (apply_redirections(c) < 0)
        _exit(1);
    if (is_builtin(c->argv[0])) {
        int exiting = 0;
        int st = run_builtin(c, &exiting);
        fflush(stdout);
        _exit(st);
    }
    if (!strchr(c->argv[0], '/')) {
        fprintf(stderr, "sh: %s: not found\n", c->argv[0]);
        _exit(127);
    }
    exec_image(c->argv[0], c->argv, environ);
    fprintf(stderr, "sh: %s: %s\n", c->argv[0], errno_name(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

static int status_of(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

static int run_pipeline(struct cmd *cmds, int n, int *exiting)
{
    /* A lone builtin runs in the shell itself (so cd/set/exit work), with
     * its redirections applied around it. */
    if (n == 1 && is_builtin(cmds[0].argv[0])) {
        struct cmd *c = &cmds[0];
        int saved[3] = {-1, -1, -1};
        fflush(stdout);
        if (c->in || c->out || c->err || c->err_to_out) {
            for (int i = 0; i < 3; i++)
                saved[i] = dup(i);
            if (apply_redirections(c) < 0) {
                for (int i = 0; i < 3; i++)
                    dup2(saved[i], i), close(saved[i]);
                return 1;
            }
        }
        int st = run_builtin(c, exiting);
        fflush(stdout);
        fflush(stderr);
        if (saved[0] >= 0)
            for (int i = 0; i < 3; i++)
                dup2(saved[i], i), close(saved[i]);
        return st;
    }
    pid_t pids[MAXCMD];
    pid_t pgid = 0;
    int in = -1;
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < n; i++) {
        int p[2] = {-1, -1};
        if (i + 1 < n && pipe(p) != 0) {
            fprintf(stderr, "sh: pipe: %s\n", errno_name(errno));
            return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "sh: fork: %s\n", errno_name(errno));
            return 1;
        }
        if (pid == 0) {
            setpgid(0, pgid);
            if (in >= 0) {
                dup2(in, 0);
                close(in);
            }
            if (p[1] >= 0) {
                dup2(p[1], 1);
                close(p[1]);
                close(p[0]);
            }
            child_exec(&cmds[i]);
        }
        if (!pgid)
            pgid = pid;
        setpgid(pid, pgid); /* both sides, to close the race */
        pids[i] = pid;
        if (in >= 0)
            close(in);
        if (p[1] >= 0)
            close(p[1]);
        in = p[0];
    }
    int st = 0, last = 0;
    for (int i = 0; i < n; i++) {
        if (wait4(pids[i], &st, 0, NULL) != pids[i]) {
            fprintf(stderr, "sh: wait4: %s\n", errno_name(errno));
            return 1;
        }
        if (i == n - 1)
            last = status_of(st);
    }
    return last;
}

static void free_cmds(struct cmd *cmds, int n)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < cmds[i].argc; j++)
            free(cmds[i].argv[j]);
        free(cmds[i].in);
        free(cmds[i].out);
        free(cmds[i].err);
    }
}

/* Run one line (which may hold several `;`-separated pipelines).
 * Returns 1 when the script should stop (exit). */
static int run_line(const char *line)
{
    const char *p = line;
    for (;;) {
        struct cmd cmds[MAXCMD];
        memset(cmds, 0, sizeof cmds);
        int n = 1, syntax = 0;
        enum tok t;
        char *w = NULL;
        while ((t = next_token(&p, &w)) != T_END && t != T_SEMI) {
            struct cmd *c = &cmds[n - 1];
            if (t == T_WORD) {
                if (c->argc < MAXW - 1)
                    c->argv[c->argc++] = w;
                else
                    free(w);
            } else if (t == T_PIPE) {
                if (c->argc == 0 || n == MAXCMD)
                    syntax = 1;
                else
                    n++;
            } else if (t == T_ERR2OUT) {
                c->err_to_out = 1;
            } else {
                char *target = NULL;
                if (next_token(&p, &target) != T_WORD) {
                    syntax = 1;
                    break;
                }
                char **slot = t == T_IN ? &c->in : t == T_ERR ? &c->err : &c->out;
                free(*slot);
                *slot = target;
                if (t == T_APPEND)
                    c->append = 1;
                else if (t == T_OUT)
                    c->append = 0;
            }
        }
        int empty = n == 1 && cmds[0].argc == 0 && !cmds[0].in && !cmds[0].out;
        if (!empty && cmds[n - 1].argc == 0)
            syntax = 1;
        int exiting = 0;
        if (syntax) {
            fprintf(stderr, "sh: syntax error\n");
            last_status = 2;
        } else if (!empty) {
            last_status = run_pipeline(cmds, n, &exiting);
        }
        free_cmds(cmds, n);
        if (exiting)
            return 1;
        if (t == T_END)
            return 0;
    }
}

/* `loop N` starts a block that `end` closes: the lines between run N
 * times (N = 0: forever), with $I set to the round (1, 2, ...). */
static int loop_count(const char *line, long *n)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, "loop", 4) || (line[4] != ' ' && line[4] != '\t' && line[4]))
        return 0;
    *n = atol(line + 4);
    return 1;
}

static int is_end(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, "end", 3))
        return 0;
    line += 3;
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == 0 || *line == '#';
}

/* Runs lines [from, to); returns 1 when the script exits. */
static int run_lines(char **lines, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        long n;
        if (!loop_count(lines[i], &n)) {
            if (is_end(lines[i])) {
                fprintf(stderr, "sh: end without loop\n");
                last_status = 2;
                continue;
            }
            if (run_line(lines[i]))
                return 1;
            continue;
        }
        size_t depth = 1, j = i + 1;
        for (; j < to; j++) {
            long ignored;
            if (loop_count(lines[j], &ignored))
                depth++;
            else if (is_end(lines[j]) && --depth == 0)
                break;
        }
        if (depth) {
            fprintf(stderr, "sh: loop without end\n");
            last_status = 2;
            return 0;
        }
        for (long round = 1; n <= 0 || round <= n; round++) {
            char num[32];
            snprintf(num, sizeof num, "%ld", round);
            setenv("I", num, 1);
            if (run_lines(lines, i + 1, j))
                return 1;
        }
        i = j;
    }
    return 0;
}

static char *slurp(FILE *f)
{
    struct str b = {0};
    put(&b, 0);
    b.n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        put(&b, (char)c);
    return b.s;
}

int main(int argc, char **argv)
{
    /* BIN: the directory holding this program. */
    if (argc > 0) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", argv[0]);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            setenv("BIN", slash == dir ? "/" : dir, 1);
        } else {
            setenv("BIN", ".", 1);
        }
    }
    char *script;
    if (argc > 1 && !strcmp(argv[1], "-c")) {
        struct str b = {0};
        put(&b, 0);
        b.n = 0;
        for (int i = 2; i < argc; i++) {
            puts_(&b, argv[i]);
            if (i + 1 < argc)
                put(&b, ' ');
        }
        script = b.s;
    } else if (argc > 1) {
        FILE *f = fopen(argv[1], "r");
        if (!f) {
            fprintf(stderr, "sh: %s: %s\n", argv[1], errno_name(errno));
            return 127;
        }
        script = slurp(f);
        fclose(f);
    } else {
        /* Read all of stdin first: children then inherit it at EOF rather
         * than half-consumed by our buffering. */
        script = slurp(stdin);
    }
    /* Split into lines once: loops run their body lines again. */
    size_t nlines = 0, cap = 16;
    char **lines = malloc(cap * sizeof *lines);
    if (!lines)
        die_oom();
    for (char *line = script; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (nlines == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            if (!lines)
                die_oom();
        }
        lines[nlines++] = line;
        line = nl ? nl + 1 : NULL;
    }
    run_lines(lines, 0, nlines);
    free(lines);
    fflush(stdout);
    free(script);
    return last_status;
}
