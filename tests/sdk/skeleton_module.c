/* examples/skeleton-channel/skeleton.c compiled in tree, unchanged: the
 * example stays a single file with its own Makefile, and no build output
 * lands under examples/ (which is distributed as a whole). */
#include "skeleton.c"
