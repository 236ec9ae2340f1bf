// xhr2 ships no types; the tests only hand its constructor to dicomweb-client.
declare module 'xhr2';
