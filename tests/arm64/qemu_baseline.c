/* A trivial program (dynamically linked against libc, like quantd) that waits to be killed:
   the VmRSS of qemu-aarch64 running it is qemu's own baseline, subtracted from quantd's. */
#include <unistd.h>

int main(void) {
  pause();
  return 0;
}
