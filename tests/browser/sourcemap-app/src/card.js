// Only the last four digits of a card number are ever shown.
export function maskCard(card) {
  const digits = card.replace(/\D/g, '');
  return `…${digits.slice(-4)}`;
}
