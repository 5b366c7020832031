// The shop's checkout as its developers wrote it. sourcemaps.test.mjs bundles and minifies
// it with esbuild, prepares the bundle with posthog-cli, and clicks Pay in Chromium.
import { maskCard } from './card.js';

export function explodeCheckout(card) {
  const masked = maskCard(card);
  throw new Error(`checkout exploded for card ${masked}`);
}

document.getElementById('pay').addEventListener('click', () => {
  explodeCheckout(document.getElementById('card').value);
});
