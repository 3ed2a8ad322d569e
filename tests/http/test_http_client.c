#include "../unit/cm.h"
int main(void) { return 0; }
