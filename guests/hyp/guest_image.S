/* The guest binary (build/hyp-guest.bin, linked at GPA 0x9020_0000),
 * copied into guest RAM by vm_init(). GUEST_BIN is set by the Makefile. */
    .section .rodata.guest_image, "a"
    .balign 16
    .globl guest_image_start, guest_image_end
guest_image_start:
    .incbin GUEST_BIN
guest_image_end:
