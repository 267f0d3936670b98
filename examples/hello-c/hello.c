#include <stdio.h>

int main(void) {
    puts("hello from a cairn attested build");
    return 0;
}
