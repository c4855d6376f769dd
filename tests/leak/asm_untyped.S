/* An exported function in hand-written assembly that says .size but not .type (an untyped
 * symbol, as dladdr still names it): it allocates 40 bytes and returns them. Built into a
 * stripped library, so only .dynsym names it (tests/leak/meson.build, leak_untyped_symbol_*). */
    .text
    .globl asm_alloc
asm_alloc:
    push %rbp
    mov %rsp, %rbp
    mov $40, %edi
    call malloc@PLT
    pop %rbp
    ret
    .size asm_alloc, .-asm_alloc
    .section .note.GNU-stack,"",@progbits
