/* hkdump: explains hakmem crash logs and dump files. See docs/hkdump.md. */
#include "hkdump.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* Output that did not reach its file (a full disk, a closed pipe) is a failure of the run:
 * one line on stderr and status 2, never a silent 0. */
static int finish(int rc)
{
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !bad)
        bad = true, e = errno;
    if (!bad)
        return rc;
    fprintf(stderr, "hkdump: cannot write the output: %s\n", strerror(e));
    return 2;
}

int main(int argc, char **argv)
{
    /* A closed pipe is a write error to report, not a signal that kills hkdump silently. */
    signal(SIGPIPE, SIG_IGN);
    return finish(hkd_cli(argc, argv));
}
