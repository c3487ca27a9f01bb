import random, sys
random.seed(int(sys.argv[2])); N = int(sys.argv[1])
def s2r(b):
    frac = b & 0x7fffff; sign = b >> 31; msb = (b >> 30) & 1; low = (b >> 23) & 0x7f
    e = (msb << 10) | low
    if msb:
        if low == 0x7f: e = 0x7ff
    elif low: e |= 0x380
    return (sign << 63) | (e << 52) | (frac << 29)
def frac(bits):
    r = random.random()
    if r < 0.2: return 0
    if r < 0.3: return (1 << bits) - 1
    if r < 0.4: return (1 << bits) - 1 - random.getrandbits(3)
    if r < 0.5: return random.getrandbits(3)
    if r < 0.6: return 1 << (bits - 1)
    return random.getrandbits(bits)
def t(e): return (random.getrandbits(1) << 63) | ((e & 0x7ff) << 52) | frac(52)
def s(e): return s2r((random.getrandbits(1) << 31) | ((e & 0xff) << 23) | frac(23))
FPCRS = [0x680e800000000000, 0x0800000000000000, 0x0000000000000000, 0x0400000000000000, 0x0c00000000000000,
         0x780e800000000000, 0x7c0e800000000000, 0x740e800000000000, 0x700e800000000000, 0x690f800000000000,
         0x1800000000000000, 0x0801000000000000, 0x3800000000000000, 0x6801000000000000]
TRAPQ = [0x000, 0x100, 0x500, 0x700, 0x400, 0x200, 0x300, 0x600]
def func(base): return base | random.choice(TRAPQ) | random.choice([0x000, 0x040, 0x080, 0x0c0])
out = []
for _ in range(N):
    fp = random.choice(FPCRS); c = 0x1111111111111111
    k = random.random(); single = random.random() < 0.5
    mk = s if single else t
    bias = 127 if single else 1023
    top = 254 if single else 2046
    base = 0x00 if single else 0x20
    if k < 0.3:   # mul near underflow / overflow
        target = random.choice([random.randint(-3, 3), top + random.randint(-3, 3)])
        e1 = random.randint(max(0, target + bias - top), min(top, target + bias))
        e2 = target + bias - e1
        op, fn, a, b = 0x16, func(base | 2), mk(e1), mk(e2)
    elif k < 0.5:  # div near underflow / overflow
        target = random.choice([random.randint(-3, 3), top + random.randint(-3, 3)])
        e2 = random.randint(1, top)
        e1 = target - bias + e2
        if not (0 <= e1 <= top): continue
        op, fn, a, b = 0x16, func(base | 3), mk(e1), mk(e2)
    elif k < 0.7:  # add/sub tiny or huge
        e = random.choice([0, 1, 2, 3, top, top - 1])
        op, fn, a, b = 0x16, func(base | random.choice([0, 1])), mk(e), mk(random.choice([e, e + 1, max(e - 1, 0), 0]))
    elif k < 0.8:  # sqrt of tiny / huge
        e = random.choice([0, 1, 2, top])
        op, fn, a, b = 0x14, func(0x0b if single else 0x2b), 0, mk(e) & ~(1 << 63)
    elif k < 0.92:  # cvtts near S range ends
        e = random.choice([1023 - 126, 1023 - 127, 1023 - 126 - 23, 1023 - 150, 1023 - 149, 1023 - 125, 1023 + 127, 1023 + 128, 1023 + 126, 1023 - 140])
        fn = func(0x2c)
        if fn in (0x2ac, 0x6ac): fn ^= 0x40
        op, a, b = 0x16, 0, t(e)
    else:  # cvttq boundaries
        e = random.choice([1023 + 62, 1023 + 63, 1023 + 64, 1023 + 52, 1023 + 51, 1023 - 1, 1023 - 2, 1023, 0])
        op, fn, a, b = 0x16, func(0x2f), 0, t(e)
    out.append("%x %03x %016x %016x %016x %016x" % (op, fn, a, b, c, fp))
print("\n".join(out))
