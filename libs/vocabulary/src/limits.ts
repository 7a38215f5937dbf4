// Limits every layer enforces alike: the scenario validator, the gateway and the services' control
// planes refuse the same values, with the same bounds in their messages.

/** vCPUs per VM. */
export const MAX_VCPUS = 64;
/** pCPUs per host. */
export const MAX_PCPUS = 256;
/** Guest memory is given in pages of this size. */
export const PAGE_BYTES = 4096;
/** rv32 guest RAM lives in the upper half of the 32-bit physical address space. */
export const MAX_VM_MEMORY_BYTES = 2 * 1024 ** 3;
export const MAX_SEED = 2 ** 32 - 1;
