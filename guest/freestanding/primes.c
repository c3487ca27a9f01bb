/* Demo workload 1: a CPU-bound sieve, reporting after each round. */
#include "sys.h"

#define LIMIT 60000
static unsigned char composite[LIMIT + 1];

int main(void)
{
    char line[96];
    for (unsigned long round = 1; round <= 12; round++) {
        unsigned long limit = LIMIT - (round * 997) % 5000;
        for (unsigned long i = 0; i <= limit; i++)
            composite[i] = 0;
        unsigned long count = 0;
        for (unsigned long i = 2; i <= limit; i++) {
            if (composite[i])
                continue;
            count++;
            for (unsigned long j = i * i; j <= limit; j += i)
                composite[j] = 1;
        }
        char *p = cat(line, "round ");
        p = utoa(p, round);
        p = cat(p, ": ");
        p = utoa(p, count);
        p = cat(p, " primes <= ");
        p = utoa(p, limit);
        *p++ = '\n';
        *p = 0;
        put(line);
    }
    return 0;
}
