/**
 * Synthetic test persons (Skatteetaten's Tenor convention: month + 80). These numbers belong to
 * nobody; Kuvert accepts them only outside production (KUVERT_ACCEPT_SYNTHETIC_IDS). A test
 * in the server holds each of them against Kuvert's own validator.
 */
export interface TestPerson {
  pid: string;
  name: string;
}

export const testPersons: readonly TestPerson[] = [
  { pid: '23892673799', name: 'Kari Nordmann' },
  { pid: '02843435613', name: 'Ola Nordmann' },
  { pid: '27875879966', name: 'Ingrid Fjell' },
  { pid: '20894530880', name: 'Per Strand' },
];

/** The two levels ID-porten issues, as `acr` values (ID-porten's names since 2023). */
export const acrSubstantial = 'idporten-loa-substantial';
export const acrHigh = 'idporten-loa-high';
export const acrValues = [acrSubstantial, acrHigh] as const;
export type Acr = (typeof acrValues)[number];
