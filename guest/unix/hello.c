/* hello: the smallest end-to-end check of process start.
 *
 *   hello [STATUS] [ARGS...]   print argc, argv (argv[0] as its basename, since
 *                              the directory differs between builds), the env
 *                              var SPIN_TEST, then exit with STATUS if numeric.
 *   hello --cat [PREFIX]       copy stdin to stdout, each line prefixed (for
 *                              pipelines in sh_test.sh), then report the count.
 */
#include "common.h"

#include <ctype.h>

static int numeric(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc >= 2 && !strcmp(argv[1], "--cat")) {
        const char *prefix = argc >= 3 ? argv[2] : "|";
        char line[4096];
        int n = 0;
        while (fgets(line, sizeof line, stdin)) {
            printf("%s %s", prefix, line);
            if (!strchr(line, '\n'))
                putchar('\n');
            n++;
        }
        printf("%s %d lines\n", prefix, n);
        return 0;
    }

    const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "(null)");
    printf("Hello from a static Linux binary!\n");
    printf("argc=%d\n", argc);
    printf("argv[0] basename=%s\n", base);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    if (argc > 0 && argv[argc] != NULL)
        printf("FAIL: argv[argc] is not NULL\n");
    const char *t = getenv("SPIN_TEST");
    if (t)
        printf("SPIN_TEST=%s\n", t);
    else
        printf("SPIN_TEST unset\n");
    int status = 0;
    if (argc >= 2 && numeric(argv[1]))
        status = atoi(argv[1]) & 255;
    printf("exit status %d\n", status);
    return status;
}
