/* Prints the option table of src/hk_options.c, one option a line, tab-separated:
 * name, default ("none" when unset), what it accepts, what it does. check_options_doc.py
 * compares the README and docs/reliability.md against it. */
#include "hk_options.h"

#include <stdio.h>

int main(void)
{
    for (size_t i = 0; i < hk_noptions; i++) {
        const struct hk_option_def *d = &hk_option_defs[i];
        char accepts[256];
        hk_option_accepts(d, accepts, sizeof accepts);
        printf("%s\t%s\t%s\t%s\n", d->name, *d->def ? d->def : "none", accepts, d->doc);
    }
    return 0;
}
