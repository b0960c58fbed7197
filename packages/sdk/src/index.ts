/**
 * @kuvert/sdk: send letters through Kuvert's signed API (RFC 9421 HTTP Message
 * Signatures with an RFC 9530 Content-Digest). Zero runtime dependencies.
 */
/** Node's JWK type, which the key functions use (TypeScript's lib here has no global one). */
export type { JsonWebKey } from 'node:crypto';
export {
  encodeLetterForm,
  KuvertApiError,
  KuvertClient,
  type KuvertClientOptions,
  KuvertConnectionError,
  type LetterReceipt,
  type LetterState,
  type LetterStatus,
  type Problem,
  type Recipient,
  type SendLetterInput,
} from './client.js';
export {
  type ContentDigestCheck,
  type ContentDigestVerifier,
  checkContentDigest,
  createContentDigest,
  type DigestAlgorithm,
  digestBytes,
  parseContentDigest,
  startContentDigestCheck,
  verifyContentDigest,
} from './content-digest.js';
export {
  algorithmOfKey,
  createSignature,
  DEFAULT_COVERED_COMPONENTS,
  generateSenderKey,
  jwkThumbprint,
  loadSenderKey,
  type ParsedSignature,
  parseSignatureFields,
  type SenderKey,
  type SignatureAlgorithm,
  type SignedMessage,
  type SignRequestOptions,
  signatureBaseFor,
  signMessage,
  signRequest,
  toPrivateKeyObject,
  toPublicKeyObject,
  verifySignature,
} from './sign.js';
export {
  buildSignatureBase,
  componentValue,
  type HeaderValue,
  type MessageDescription,
  SignatureBaseError,
  type SignatureInput,
  type SignatureParams,
  serializeSignatureParams,
} from './signature-base.js';
export {
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  type Parameters,
  parseDictionary,
  parseItem,
  StructuredFieldError,
  serializeBareItem,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeParameters,
  sfBoolean,
  sfBytes,
  sfInnerList,
  sfInteger,
  sfItem,
  sfString,
  sfToken,
} from './structured-fields.js';
