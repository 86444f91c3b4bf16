/*
 * Stand-in for bcryptprimitives.dll under Wine 8.
 *
 * Rust's standard library for x86_64-pc-windows-gnu (recent versions; verified with 1.95)
 * imports ProcessPrng from bcryptprimitives.dll, which Wine 8.0 does not provide: a Rust .exe
 * then fails to start with STATUS_DLL_NOT_FOUND (c0000135). Built as bcryptprimitives.dll and
 * placed beside the .exe (the application directory is searched first), this single export
 * fills the buffer from RtlGenRandom (advapi32's SystemFunction036), which Wine implements.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 * (scripts/windows/wine-run does this beside each program it runs). Only for running tests
 * under Wine; never shipped.
 */
#include <windows.h>

/* RtlGenRandom is exported by advapi32 under this name; the prototype is the documented one. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Same contract as Windows': fill `len` bytes with random data and return TRUE (FALSE only if
 * RtlGenRandom fails, which Windows' own never does). */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
