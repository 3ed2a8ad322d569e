#include "efix.h"
int main(void) { return 0; }
