#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <setjmp.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static sigjmp_buf jb;
static volatile unsigned long t_c, t_fpcr, t_exc; static volatile int t_sig; static volatile unsigned long t_pc;

static void h(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  t_sig = sig;
  t_c = uc->uc_mcontext.sc_fpregs[13]; t_pc = uc->uc_mcontext.sc_pc;
  t_fpcr = uc->uc_mcontext.sc_fpcr;
  t_exc = uc->uc_mcontext.sc_traparg_a0;
  siglongjmp(jb, 1);
}

static unsigned fop(unsigned op, unsigned fa, unsigned fb, unsigned fn, unsigned fc) {
  return (op << 26) | (fa << 21) | (fb << 16) | (fn << 5) | fc;
}
static unsigned mem(unsigned op, unsigned ra, unsigned rb, unsigned disp) {
  return (op << 26) | (ra << 21) | (rb << 16) | (disp & 0xffff);
}

int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0); sigaction(SIGILL, &sa, 0);
  unsigned *code = mmap(0, 8192, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  unsigned op, fn; unsigned long a, b, c, fpcr;
  static unsigned long buf[4];
  while (scanf("%x %x %lx %lx %lx %lx", &op, &fn, &a, &b, &c, &fpcr) == 6) {
    unsigned fa = 11, fb = 12;
    unsigned fpfn = fn & 0x3f;
    if (op == 0x14 && (fpfn == 4 || fpfn == 0x14 || fpfn == 0x24)) { fb = 31; fa = 1; }
    if (op == 0x14 && (fpfn == 0x0a || fpfn == 0x0b || fpfn == 0x2a || fpfn == 0x2b)) fa = 31;
    if (op == 0x16 && (fpfn == 0x2c || fpfn == 0x2f || fpfn == 0x3c || fpfn == 0x3e)) fa = 31;
    if (op == 0x17 && (fn == 0x10 || (fn & 0xff) == 0x30)) fa = 31;
    unsigned fc = 13;
    if (op == 0x17 && fn == 0x25) fa = 13;
    int i = 0;
    code[i++] = mem(0x23, 11, 16, 0);
    code[i++] = mem(0x23, 12, 16, 8);
    code[i++] = mem(0x23, 13, 16, 16);
    code[i++] = mem(0x23, 14, 16, 24);
    code[i++] = mem(0x29, 1, 16, 0);
    code[i++] = fop(0x17, 14, 14, 0x24, 14);
    code[i++] = fop(op, fa, fb, fn, fc);
    code[i++] = 0x60000000; /* trapb */
    code[i++] = fop(0x17, 14, 14, 0x25, 14);
    code[i++] = mem(0x27, 13, 16, 16);
    code[i++] = mem(0x27, 14, 16, 24);
    code[i++] = 0x6bfa8001; /* ret */
    __asm__ volatile("call_pal 0x86" ::: "memory");
    {
      unsigned long swcr = fpcr & 0xffffffffUL;
      syscall(257, 14, &swcr, 0, 0, 0);
    }
    buf[0] = a; buf[1] = b; buf[2] = c; buf[3] = fpcr & 0xffffffff00000000UL;
    if (sigsetjmp(jb, 1) == 0) {
      ((void (*)(unsigned long *))code)(buf);
      printf("OK %016lx %016lx 0\n", buf[2], buf[3] | (fpcr & 0xffffffffUL));
    } else if (t_sig == SIGFPE) {
      printf("FPE %016lx %016lx %lx\n", t_c, t_fpcr | (fpcr & 0xffffffffUL), t_exc);
    } else {
      printf("SIG%d %lx %lx\n", t_sig, t_pc, (unsigned long)code);
    }
    fflush(stdout);
  }
  return 0;
}
