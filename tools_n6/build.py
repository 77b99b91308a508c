import csv, json, sys, glob
M={'I':'industry','V':'investment','U':'urban_construction','R':'rural_revitalisation','E':'ecology','W':'welfare','G':'governance','O':'other'}
NAME='notices6'
def parse_docs(path):
    docs=[];cur=None
    for line in open(path,encoding='utf-8'):
        line=line.rstrip('\n')
        if not line.strip(): continue
        if line.startswith('## '):
            genre=line[3:].strip(); cur={'genre':genre,'paragraphs':[]}; docs.append(cur); continue
        para=[]
        for part in line.split(' || '):
            t,s=part.split(' ',1); para.append([M[t],s.replace('\\n','\n')])
        cur['paragraphs'].append(para)
    return docs
def parse_csv(path):
    rows=[];g=None
    for line in open(path,encoding='utf-8'):
        line=line.rstrip('\n')
        if not line.strip(): continue
        if line.startswith('## '):
            genre=line[3:].strip(); g=None; gi=len({r[3] for r in rows})+1; g=f'w6-{NAME}-{gi:02d}'; cg=genre; continue
        t,s=line.split(' ',1); rows.append([s.replace('\\n','\n'),M[t],'written',g,cg])
    return rows
docs=[]
for p in sorted(glob.glob('tools_n6/doc*.txt')): docs+=parse_docs(p)
with open(f'labels/documents/round6_{NAME}.documents.jsonl','w',encoding='utf-8') as f:
    for i,d in enumerate(docs,1):
        f.write(json.dumps({'doc':f'w6-{NAME}-d{i:02d}','genre':d['genre'],'paragraphs':d['paragraphs']},ensure_ascii=False)+'\n')
rows=[]
for p in sorted(glob.glob('tools_n6/csv*.txt')): rows+=parse_csv(p)
with open(f'labels/round6_{NAME}.csv','w',encoding='utf-8-sig',newline='') as f:
    w=csv.writer(f); w.writerow(['text','theme','source','group','genre']); w.writerows(rows)
from collections import Counter
c=Counter(r[1] for r in rows); 
for d in docs:
    for p in d['paragraphs']:
        for t,s in p: c[t]+=1
print(len(docs),'docs',len(rows),'csv rows',sum(len(x) for d in docs for x in d['paragraphs']),'doc sents'); print(c)
