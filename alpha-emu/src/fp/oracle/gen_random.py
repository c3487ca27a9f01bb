import random, struct, sys
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
N = int(sys.argv[1])
def d(x): return struct.unpack('<Q', struct.pack('<d', x))[0]
def f(x): return struct.unpack('<I', struct.pack('<f', x))[0]
def s2r(b):
    frac = b & 0x7fffff; sign = b >> 31; msb = (b >> 30) & 1; low = (b >> 23) & 0x7f
    e = (msb << 10) | low
    if msb:
        if low == 0x7f: e = 0x7ff
    elif low: e |= 0x380
    return (sign << 63) | (e << 52) | (frac << 29)
T = [0, 1<<63, d(1), d(-1), d(1.5), d(2), d(3), d(0.1), d(1/3), d(-2.5), d(0.5), d(2.5), d(3.5), d(-0.5),
     0x7fefffffffffffff, 0xffefffffffffffff, 0x0010000000000000, 0x8010000000000000, 0x0018000000000000,
     0x0010000000000001, 0x001fffffffffffff, 0x3fefffffffffffff, 0x3ff0000000000001,
     1, 0x000fffffffffffff, 0x0008000000000000, 0x8000000000000001,
     0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000001, 0x7ff8000000000005,
     0x7ff4000000000000, 0x7ff0000000000001, 0xfff4000000000003, 0x7ffc000000000000,
     d(2.0**63), d(-2.0**63), d(2.0**64), d(2.0**62), d(2.0**52 + 0.5), d(2.0**53), d(1e300), d(1e-300), d(-1e308),
     d(2.0**-1000), d(2.0**-1022 * 1.5), d(2.0**1023), d(2.0**31), d(-2.0**31), d(2.0**31 - 0.5), d(4503599627370497.0),
     d(0.75), d(1.25), d(-1.75), d(2.0**-1074 * 3), 0x43e0000000000001, 0xc3e0000000000001, 0x43dfffffffffffff]
SF = [0, 0x80000000, f(1), f(-1), f(1.5), f(2), f(3), f(0.1), f(1/3), f(-2.5), f(0.5), 0x7f7fffff, 0xff7fffff,
      0x00800000, 0x80800000, 0x00c00000, 0x00800001, 0x3f7fffff, 0x3f800001, 1, 0x7fffff, 0x400000, 0x80000001,
      0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7fa00000, 0x7f800001, 0xffa00003,
      f(2.0**63), f(1e30), f(1e-30), f(2.0**-126 * 1.5), f(16777217.0), f(2.0**24), f(0.75), f(-1.75), f(2.0**-149*3)]
S = [s2r(x) for x in SF]
INTS = [0, 1, 2**64-1, 2**63, 2**63-1, 0x7fffffff, 0x80000000, 0xffffffff80000000, 0xffffffff7fffffff, 0x100000000,
        2**53+1, 2**53, 2**24+1, 2**24, 3, 2**64-3, 0x20000001, 12345678901234567, 2**62+1, 0xfffffffffffffffe]
def rt():
    r = random.random()
    if r < 0.45: return random.choice(T)
    if r < 0.6: return d(random.uniform(-1e6, 1e6))
    if r < 0.75:
        e = random.choice([1, 2, 3, 50, 500, 1000, 1023, 1024, 1100, 1500, 2000, 2045, 2046, 0])
        return (random.getrandbits(1) << 63) | (e << 52) | random.getrandbits(52)
    if r < 0.85: return random.getrandbits(64)
    return d(random.choice([1.0, 3.0, 10.0, 0.1]) * random.choice([1, -1]) * (1 + random.getrandbits(8) / 256))
def rs():
    r = random.random()
    if r < 0.45: return random.choice(S)
    if r < 0.6: return s2r(f(random.uniform(-1e6, 1e6)))
    if r < 0.8:
        e = random.choice([1, 2, 3, 20, 100, 126, 127, 128, 150, 200, 253, 254, 0])
        return s2r((random.getrandbits(1) << 31) | (e << 23) | random.getrandbits(23))
    if r < 0.9: return random.getrandbits(64)
    return rt()
def ri():
    r = random.random()
    if r < 0.5: return random.choice(INTS)
    if r < 0.8: return random.getrandbits(random.choice([8, 24, 31, 32, 33, 53, 54, 63, 64]))
    return (-random.getrandbits(random.choice([8, 24, 32, 53, 60]))) & (2**64 - 1)
FPCRS = [0x680e800000000000, 0x0800000000000000, 0x0000000000000000, 0x0400000000000000, 0x0c00000000000000,
         0x680e800000000000 | (0 << 58) & 0 , 0x600e800000000000, 0x640e800000000000, 0x6c0e800000000000,
         0x690e800000000000 | (1 << 48), 0x780e800000000000, 0x7c0e800000000000, 0x380e800000000000,
         0x680c800000000000, 0x680a800000000000, 0x6806800000000000, 0x480e800000000000, 0x280e800000000000,
         0x0801000000000000, 0x2800000000000000 | (1 << 60), 0xffffffff00000000, 0x8000000000000000 | 0x680e800000000000]
TRAPQ = [0x000, 0x100, 0x500, 0x700, 0x400, 0x200, 0x300, 0x600]
def func(base):
    return base | random.choice(TRAPQ) | random.choice([0x000, 0x040, 0x080, 0x0c0])
out = []
for _ in range(N):
    fp = random.choice(FPCRS)
    if random.random() < 0.3:
        fp |= random.getrandbits(6) << 52  # pre-set sticky bits
    c = random.choice([0x1111111111111111, 0, d(-7.0)])
    k = random.random()
    if k < 0.22:
        op, fn = 0x16, func(random.choice([0x20, 0x21, 0x22, 0x23])); a, b = rt(), rt()
    elif k < 0.40:
        op, fn = 0x16, func(random.choice([0x00, 0x01, 0x02, 0x03])); a, b = rs(), rs()
    elif k < 0.48:
        op, fn = 0x16, random.choice([0x0a4, 0x0a5, 0x0a6, 0x0a7, 0x5a4, 0x5a5, 0x5a6, 0x5a7, 0x024, 0x025])
        a, b = rt(), rt()
        if random.random() < 0.3: b = a
    elif k < 0.56:
        op, fn = 0x14, func(random.choice([0x0b, 0x2b])); a = 0
        b = rs() if fn & 0x3f == 0x0b else rt()
        if random.random() < 0.5: b &= ~(1 << 63)
    elif k < 0.66:
        op, fn = 0x16, func(0x2f); a, b = 0, rt()
    elif k < 0.72:
        op, fn = 0x16, func(0x2c); a, b = 0, rt()
        if fn in (0x2ac, 0x6ac): fn ^= 0x40
    elif k < 0.76:
        op, fn = 0x16, random.choice([0x2ac, 0x6ac]); a, b = 0, rs()
    elif k < 0.84:
        op, fn = 0x16, random.choice([0x3c, 0x3e]) | random.choice([0, 0x40, 0x80, 0xc0]) | random.choice([0, 0x700, 0x200, 0x400]); a, b = 0, ri()
    elif k < 0.88:
        op, fn = 0x17, random.choice([0x030, 0x130, 0x530, 0x010]); a, b = 0, ri() if random.random() < 0.7 else rt()
    elif k < 0.94:
        op, fn = 0x17, random.choice([0x020, 0x021, 0x022, 0x02a, 0x02b, 0x02c, 0x02d, 0x02e, 0x02f])
        a, b = random.choice([rt(), 0, 1 << 63, d(-1), d(1)]), rt()
    elif k < 0.97:
        op, fn = 0x17, random.choice([0x024, 0x025]); a, b = random.getrandbits(64), 0
    else:
        op, fn = 0x14, random.choice([0x004, 0x024]); a, b = random.getrandbits(64) if random.random() < 0.5 else random.choice(SF), 0
    out.append("%x %03x %016x %016x %016x %016x" % (op, fn, a, b, c, fp))
print("\n".join(out))
