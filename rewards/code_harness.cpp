// The code reward's harness (see code_harness.h): completion parsing, output comparison, and the three
// Python programs the sandbox runs. The Python avoids imports beyond os/sys/builtins: every import is
// paid on every run (json alone costs more than the judge's own work).
#include "rewards/code_harness.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace aha::rewards {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_trailing_blanks(std::string_view line) {
  while (!line.empty() && (is_blank(line.back()) || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

struct Fence {
  std::string_view language;  // "" when untagged
  std::string_view body;
};

// ``` fences that open at the start of a line (after optional indentation).
std::vector<Fence> fenced_blocks(std::string_view text) {
  std::vector<Fence> blocks;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("```", pos);
    if (open == std::string_view::npos) break;
    size_t line_start = open;
    while (line_start > 0 && is_blank(text[line_start - 1])) --line_start;
    if (line_start > 0 && text[line_start - 1] != '\n') {
      pos = open + 3;
      continue;
    }
    const size_t eol = text.find('\n', open);
    if (eol == std::string_view::npos) break;
    std::string_view language = trim_trailing_blanks(text.substr(open + 3, eol - open - 3));
    while (!language.empty() && is_blank(language.front())) language.remove_prefix(1);
    // The closing fence also starts its line (after optional indentation, which is not the body's).
    size_t close = text.find("```", eol + 1), body_end = text.size();
    for (; close != std::string_view::npos; close = text.find("```", close + 3)) {
      size_t s = close;
      while (s > eol + 1 && is_blank(text[s - 1])) --s;
      if (s == eol + 1 || text[s - 1] == '\n') {
        body_end = s;
        break;
      }
    }
    blocks.push_back({language, text.substr(eol + 1, body_end - eol - 1)});
    if (close == std::string_view::npos) break;
    pos = close + 3;
  }
  return blocks;
}

bool is_python_tag(std::string_view language) {
  return language.empty() || language == "python" || language == "py" || language == "python3" ||
         language == "Python";
}

bool parse_number(std::string_view token, double& value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  return error == std::errc() && end == token.data() + token.size() && std::isfinite(value);
}

std::vector<std::string_view> split_tokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (is_blank(line[i]) || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && !is_blank(line[j]) && line[j] != '\r') ++j;
    if (j > i) tokens.push_back(line.substr(i, j - i));
    i = j;
  }
  return tokens;
}

std::vector<std::string_view> significant_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(trim_trailing_blanks(text.substr(start, end - start)));
    start = end + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace

std::string extract_code(std::string_view completion, std::string_view entry_point) {
  const std::vector<Fence> blocks = fenced_blocks(completion);
  if (blocks.empty()) return std::string(completion);
  if (!entry_point.empty())
    for (const Fence& b : blocks)
      if (is_python_tag(b.language) && defines_function(b.body, entry_point)) return std::string(b.body);
  for (const Fence& b : blocks)
    if (is_python_tag(b.language)) return std::string(b.body);
  return std::string(blocks.front().body);
}

bool defines_function(std::string_view code, std::string_view name) {
  size_t start = 0;
  while (start < code.size()) {
    const size_t end = std::min(code.find('\n', start), code.size());
    std::string_view line = code.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("async ")) {
      line.remove_prefix(6);
      while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    }
    if (!line.starts_with("def ")) continue;
    line.remove_prefix(4);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    if (!line.starts_with(name)) continue;
    line.remove_prefix(name.size());
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    if (line.starts_with("(")) return true;
  }
  return false;
}

std::string humaneval_program(std::string_view prompt, std::string_view code, std::string_view entry_point) {
  if (!prompt.empty() && code.starts_with(prompt)) return std::string(code);  // the completion repeats the prompt
  std::string program(prompt);
  if (defines_function(code, entry_point)) program += '\n';
  program += code;
  return program;
}

bool outputs_match(std::string_view got, std::string_view expected, double float_tolerance) {
  const std::vector<std::string_view> a = significant_lines(got), b = significant_lines(expected);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (!(float_tolerance > 0)) return false;
    const std::vector<std::string_view> ta = split_tokens(a[i]), tb = split_tokens(b[i]);
    if (ta.size() != tb.size()) return false;
    for (size_t k = 0; k < ta.size(); ++k) {
      if (ta[k] == tb[k]) continue;
      double x = 0, y = 0;
      if (!parse_number(ta[k], x) || !parse_number(tb[k], y)) return false;
      if (!(std::fabs(x - y) <= float_tolerance * std::max(1.0, std::fabs(y)))) return false;
    }
  }
  return true;
}

std::string frame_fields(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view f : fields) {
    out += std::to_string(f.size());
    out += '\n';
    out += f;
  }
  return out;
}

// ---- Python ----

namespace {

// The value codec both sides share. _enc writes a plain value as tagged text; anything else raises.
// _dec rebuilds plain values only and raises on anything malformed, so whatever bytes the candidate
// sends, the judge holds either built-in values or an exception.
constexpr const char* kCodec = R"PY(
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
)PY";

// fd 0: the job (nonce, entry point, prompt, test, program), 3: the verdict, 4: to the candidate, 5: from it.
constexpr const char* kJudge = R"PY(
class CandidateError(Exception):
    pass

def _verdict(text):
    os.write(3, (text[:400] + '\n').encode('utf-8', 'replace'))

def _harden():
    # Where /proc shows this process (no Landlock, no mount namespace), a process of the same uid could
    # open our stdin or verdict pipe through /proc/<pid>/fd. Non-dumpable makes those files root's. This
    # runs before the program exists anywhere but in our stdin, which nothing else can read yet.
    try:
        os.listdir('/proc/self/fd')
    except OSError:
        return
    import ctypes
    if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, 0
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_DUMPABLE, 0)')

def _main():
    try:
        _harden()
    except BaseException as e:
        _verdict('ERROR the judge cannot protect itself: %s: %s' % (type(e).__name__, e))
        return
    chunks = []
    while True:
        b = os.read(0, 1 << 16)
        if not b:
            break
        chunks.append(b)
    nonce, entry, prompt, test, program = _fields(b''.join(chunks))
    nonce, entry, prompt, test = [f.decode('utf-8', 'surrogateescape') for f in (nonce, entry, prompt, test)]
    calls = os.fdopen(4, 'wb')
    replies = os.fdopen(5, 'rb')

    def reply():
        got = _receive(replies)
        if got is None:
            raise CandidateError('the candidate process ended')
        tag, value = got
        if tag == 'R':
            return value
        if tag == 'E' and type(value) is tuple and len(value) == 2 and all(type(x) is str for x in value):
            cls = getattr(builtins, value[0], None)
            if not (isinstance(cls, type) and issubclass(cls, Exception)):
                cls = CandidateError
            raise cls(value[1])
        raise CandidateError('the candidate broke the protocol')

    def candidate(*args, **kwargs):
        _send(calls, 'C', (args, kwargs))
        return reply()

    def run_check(with_prompt):
        scope = {'__name__': '__judge__'}
        if with_prompt:
            try:
                exec(compile(prompt, '<prompt>', 'exec'), scope)
            except Exception:
                scope = {'__name__': '__judge__'}
        scope[entry] = candidate
        exec(compile(test, '<test>', 'exec'), scope)
        scope['check'](candidate)

    def defines_other(line):
        if not line.startswith(('def ', 'async def ', 'class ')):
            return False
        head = line.split('(')[0].split(':')[0].split()
        return head[-1] != entry

    try:
        _send(calls, 'P', (entry, program))
        reply()
    except BaseException as e:
        _verdict('FAIL the program did not load: %s: %s' % (type(e).__name__, e))
        return
    # The prompt runs here only when the test may need it: for helpers it defines (HumanEval/32's poly),
    # or, after a NameError, for its imports. Otherwise it would mostly cost an import of typing.
    helpers = any(defines_other(line) for line in prompt.splitlines())
    try:
        try:
            run_check(helpers)
        except NameError:
            if helpers:
                raise
            run_check(True)
    except BaseException as e:
        _verdict('FAIL %s: %s' % (type(e).__name__, e))
        return
    _verdict('PASS ' + nonce)

_main()
)PY";

// fd 4: from the judge (first the program, then calls), 5: replies. Its stdin is empty.
constexpr const char* kCandidate = R"PY(
def _describe(e):
    try:
        return (type(e).__name__, str(e)[:300])
    except BaseException:
        return ('Exception', '')

def _main():
    calls = os.fdopen(4, 'rb')
    replies = os.fdopen(5, 'wb')

    def reply(tag, value):
        try:
            _send(replies, tag, value)
        except (TypeError, ValueError, RecursionError) as e:
            _send(replies, 'E', _describe(e))

    got = _receive(calls)
    if got is None or got[0] != 'P':
        return
    entry, source = got[1]
    scope = {'__name__': '__candidate__', '__builtins__': builtins}
    try:
        exec(compile(source, '<completion>', 'exec'), scope)
        fn = scope.get(entry)
        if not callable(fn):
            raise NameError('the program defines no function %s' % entry)
    except BaseException as e:
        reply('E', _describe(e))
        return
    reply('R', None)
    while True:
        got = _receive(calls)
        if got is None:
            return
        args, kwargs = got[1]
        try:
            result = fn(*args, **kwargs)
        except BaseException as e:
            reply('E', _describe(e))
            continue
        reply('R', result)

_main()
)PY";

// fd 0: the case's input, fd 3: the program. Runs it as __main__; a traceback exits 1.
constexpr const char* kStdio = R"PY(
import os
with os.fdopen(3, 'rb') as f:
    source = f.read()
del f
exec(compile(source, '<completion>', 'exec'), {'__name__': '__main__', '__builtins__': __builtins__})
)PY";

}  // namespace

const std::string& judge_source() {
  static const std::string source = std::string(kCodec) + kJudge;
  return source;
}
const std::string& candidate_source() {
  static const std::string source = std::string(kCodec) + kCandidate;
  return source;
}
const std::string& stdio_source() {
  static const std::string source = kStdio;
  return source;
}

}  // namespace aha::rewards
