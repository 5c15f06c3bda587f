#include "textflag.h"

// func prefetchw2(a, b unsafe.Pointer)
TEXT ·prefetchw2(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ a+0(FP), AX
	BYTE $0x0F; BYTE $0x0D; BYTE $0x08 // PREFETCHW (AX): 0F 0D /1
	MOVQ b+8(FP), AX
	BYTE $0x0F; BYTE $0x0D; BYTE $0x08 // PREFETCHW (AX)
	RET
