/* Demo workload 2: CRC-32 over a buffer that changes every round. */
#include "sys.h"

static unsigned int table[256];
static unsigned char buf[16384];

static unsigned int crc32(const unsigned char *p, unsigned long n)
{
    unsigned int c = 0xffffffffu;
    while (n--)
        c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static char *hex(char *p, unsigned int v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = "0123456789abcdef"[(v >> (i * 4)) & 15];
    return p;
}

int main(void)
{
    for (unsigned int i = 0; i < 256; i++) {
        unsigned int c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    char line[96];
    unsigned int seed = 12345;
    for (unsigned long round = 1; round <= 10; round++) {
        for (unsigned long i = 0; i < sizeof buf; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = seed >> 16;
        }
        unsigned int c = 0;
        for (int rep = 0; rep < 8; rep++)
            c = (c << 5 | c >> 27) ^ crc32(buf + rep, sizeof buf - rep);
        char *p = cat(line, "round ");
        p = utoa(p, round);
        p = cat(p, ": crc32 ");
        p = hex(p, c);
        *p++ = '\n';
        *p = 0;
        put(line);
    }
    return 0;
}
