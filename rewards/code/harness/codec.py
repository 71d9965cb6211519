# The value codec the judge and the candidate share (see rewards/code/code_harness.h), and their framing. _enc
# writes a plain value as tagged text; anything else raises. _dec rebuilds plain values only and raises on
# anything malformed, so whatever bytes the candidate sends, the judge holds either built-in values or an
# exception. Prepended to judge.py and to candidate.py; the imports stay at os/sys/builtins because every
# import is paid on every run (json alone costs more than the judge's own work).
# The build embeds this file without its leading comment lines (rewards/code/embed_harness.cmake).

import os, sys, builtins
if hasattr(sys, 'set_int_max_str_digits'):
    sys.set_int_max_str_digits(0)

def _enc(v, out):
    if v is None:
        out.append('N')
    elif v is True:
        out.append('T')
    elif v is False:
        out.append('F')
    elif isinstance(v, int):
        out.append('i%s;' % int.__repr__(v))
    elif isinstance(v, float):
        out.append('f%s;' % float.hex(v))
    elif isinstance(v, complex):
        out.append('c%s;%s;' % (float.hex(float(v.real)), float.hex(float(v.imag))))
    elif isinstance(v, str):
        s = str.__str__(v)
        out.append('s%d:' % len(s))
        out.append(s)
    elif isinstance(v, (bytes, bytearray)):
        h = bytes(v).hex()
        out.append('b%d:' % len(h))
        out.append(h)
    elif isinstance(v, dict):
        items = list(dict.items(v))
        out.append('d%d:' % len(items))
        for k, x in items:
            _enc(k, out)
            _enc(x, out)
    elif isinstance(v, (list, tuple, set, frozenset)):
        tag = 'l' if isinstance(v, list) else 't' if isinstance(v, tuple) else 'z' if isinstance(v, frozenset) else 'S'
        items = list(v)
        out.append('%s%d:' % (tag, len(items)))
        for x in items:
            _enc(x, out)
    else:
        raise TypeError('a %s is not a plain value and cannot be returned to the test' % type(v).__name__)

def _dec(s, i):
    t = s[i]
    i += 1
    if t == 'N':
        return None, i
    if t == 'T':
        return True, i
    if t == 'F':
        return False, i
    if t == 'i' or t == 'f':
        j = s.index(';', i)
        return (int(s[i:j]) if t == 'i' else float.fromhex(s[i:j])), j + 1
    if t == 'c':
        j = s.index(';', i)
        k = s.index(';', j + 1)
        return complex(float.fromhex(s[i:j]), float.fromhex(s[j + 1:k])), k + 1
    j = s.index(':', i)
    n = int(s[i:j])
    i = j + 1
    if n < 0:
        raise ValueError('negative length')
    if t == 's' or t == 'b':
        if i + n > len(s):
            raise ValueError('truncated')
        x = s[i:i + n]
        return (x if t == 's' else bytes.fromhex(x)), i + n
    if t not in 'ltSzd':
        raise ValueError('unknown tag')
    items = []
    for _ in range(2 * n if t == 'd' else n):
        x, i = _dec(s, i)
        items.append(x)
    if t == 'l':
        return items, i
    if t == 't':
        return tuple(items), i
    if t == 'S':
        return set(items), i
    if t == 'z':
        return frozenset(items), i
    return dict(zip(items[0::2], items[1::2])), i

def _fields(data):
    out = []
    i = 0
    while i < len(data):
        j = data.index(b'\n', i)
        n = int(data[i:j])
        out.append(data[j + 1:j + 1 + n])
        i = j + 1 + n
    return out

def _send(f, tag, value):
    out = [tag]
    _enc(value, out)
    payload = ''.join(out).encode('utf-8', 'surrogatepass')
    f.write(b'%d\n' % len(payload) + payload)
    f.flush()

def _receive(f):
    line = f.readline(32)
    if not line.endswith(b'\n'):
        return None
    n = int(line)
    payload = f.read(n)
    if len(payload) != n:
        return None
    s = payload.decode('utf-8', 'surrogatepass')
    value, end = _dec(s, 1)
    if end != len(s):
        raise ValueError('trailing data')
    return s[0], value
