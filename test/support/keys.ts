import { generateKeyPairSync } from "node:crypto";

/** One throwaway RSA key for the whole test run (generating one costs ~100 ms). */
export const TEST_PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
