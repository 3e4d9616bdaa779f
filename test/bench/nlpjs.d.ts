// @nlpjs/basic ships no type declarations; the peer script narrows what it uses.
declare module '@nlpjs/basic';
