# The candidate (see rewards/code/code_harness.h): loads the completion's program as __candidate__ and answers
# the judge's calls. Runs after codec.py, as `python -I -S -c <source>`.
# fd 4: from the judge (first the program, then calls), 5: replies. Its stdin is empty.
# The build embeds this file without its leading comment lines (rewards/code/embed_harness.cmake).

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
