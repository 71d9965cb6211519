# A stdin/stdout case (see rewards/code/code_harness.h): runs the program alone as __main__, and a
# traceback exits 1. Runs as `python -I -S -c <source>`. fd 0: the case's input, fd 3: the program.
# The build embeds this file without its leading comment lines (rewards/code/embed_harness.cmake).

import os
with os.fdopen(3, 'rb') as f:
    source = f.read()
del f
exec(compile(source, '<completion>', 'exec'), {'__name__': '__main__', '__builtins__': __builtins__})
