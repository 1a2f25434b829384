/** Entry of a dynamic worker for slots.churn: it returns at once (exit 0, slot freed). */
export function main(): void {}
