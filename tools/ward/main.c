/* main.c: the ward command (placeholder until the CLI lands). */
#include <stdio.h>
int main(void) { puts("ward: work in progress"); return 1; }
