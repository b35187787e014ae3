/** Serial line settings both the lock boards (SPEC §6) and the QR scanner (SPEC §7) use by default: 9600 baud, 8N1. */
export const DEFAULT_BAUD_RATE = 9600;
