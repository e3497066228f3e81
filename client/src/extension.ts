// placeholder — the client helper replaces this file
export {};
