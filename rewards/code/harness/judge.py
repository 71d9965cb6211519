# The judge (see rewards/code/code_harness.h): runs a HumanEval row's trusted test with `candidate` bound to a
# stub that calls across to the candidate process. Runs after codec.py, as `python -I -S -c <source>`.
# fd 0: the job (nonce, entry point, prompt, test, program), 3: the verdict, 4: to the candidate, 5: from it.
# The build embeds this file without its leading comment lines (rewards/code/embed_harness.cmake).

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
